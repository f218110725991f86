#!/usr/bin/env python3
"""Deterministic raw-lake generator for the processing benchmark (issue 5, point 7).

Writes a lake in exactly the layout and record format pricelake's delivery lands:

    raw/<source>/<endpoint>/yyyy/MM/dd/HH/<stream>-<seq>-<time>-<uuid>.ndjson.gz

one `{"kind":"raw", ...}` envelope per line (crates/core/src/envelope.rs), gzip level 1,
objects cut at 5 MiB of NDJSON like delivery's default buffer. Per simulated hour:

* walmart/items: every item polled once (`/v1/items?ids=` with 20 ids per request, one
  envelope per item, `position` 0..19), prices moving over time (piecewise constant per item,
  rollback / clearance flags, msrp on ~70% of items, stock states);
* currencylayer/live: one body with 30 quotes USDxxx (`timestamp` = the hour);
* at 09:00 one walmart/vod body and at 12:00 one walmart/trends list of 25 items (so the
  vod_fx and trending_popularity marts are not empty);
* ~0.5% of the item envelopes re-delivered (same record_id) in a later object of the hour,
  ~0.01% re-fetched under another request (new record_id, same item and fetched_at), and one
  truncated (malformed) line in every 7th hour.

Same arguments, same bytes (fixed seed; uuids and sequence numbers are derived, not random).
A summary goes to LAKE/_bench/gen.json (outside raw/, which is all `pricelake process` reads).

Usage:
    gen_lake.py LAKE --observations 10000000 [--items 20000] [--hours H] [--workers 2]
    gen_lake.py LAKE --add-hour          # one more hour (new objects only), same parameters
"""
import argparse
import gzip
import hashlib
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

SEED = 20260105
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOST = "http://127.0.0.1:8100"
STREAM = "pricelake"
BUFFER_BYTES = 5 * 1024 * 1024
IDS_PER_REQUEST = 20
REQUEST_SPACING_MS = 200  # one items request every 0.2 s, starting one minute past the hour
DUP_PER_MILLE = 5  # same record_id re-delivered
REFETCH_PER_100K = 10  # new record_id, same item and fetched_at
MALFORMED_EVERY_HOURS = 7
FX_CONFIGURED = ["AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD"]
FX_EXTRA = ["ARS", "BRL", "CLP", "COP", "CZK", "DKK", "EGP", "HKD", "HUF", "IDR",
            "ILS", "KRW", "MXN", "MYR", "NGN", "NOK", "NZD", "PHP", "PLN", "SEK"]
FX_CURRENCIES = FX_CONFIGURED + FX_EXTRA  # 30
FX_START = {"AUD": 1.467, "EUR": 0.940, "GBP": 0.785, "INR": 81.89, "AED": 3.6725, "JPY": 147.7,
            "CHF": 0.864, "ZAR": 17.58, "CNY": 7.319, "CAD": 1.323, "ARS": 870.0, "BRL": 4.95,
            "CLP": 905.0, "COP": 3950.0, "CZK": 22.6, "DKK": 7.01, "EGP": 47.2, "HKD": 7.82,
            "HUF": 355.0, "IDR": 15600.0, "ILS": 3.71, "KRW": 1330.0, "MXN": 17.1, "MYR": 4.7,
            "NGN": 1450.0, "NOK": 10.6, "NZD": 1.62, "PHP": 56.1, "PLN": 4.02, "SEK": 10.4}
CATEGORIES = [
    ("3944", "Electronics", [("4984154", "TV & Video", ["Televisions", "Streaming Devices"]),
                              ("2940453", "Computers", ["Laptops", "Monitors"]),
                              ("3066189", "Audio", ["Headphones", "Speakers"])]),
    ("4044", "Home", [("1332012", "Kitchen & Dining", ["Small Appliances", "Cookware"]),
                      ("8712334", "Bedding", ["Sheets", "Pillows"])]),
    ("976759", "Grocery", [("3354946", "Snacks", ["Chips", "Cookies"]),
                           ("1071964", "Beverages", ["Coffee", "Soda"])]),
    ("4171", "Toys", [("1045879", "Building Sets", ["Bricks"]), ("4252", "Dolls", ["Fashion Dolls"])]),
    ("5438", "Clothing", [("133197", "Men", ["Shirts", "Jeans"]), ("133162", "Women", ["Dresses"])]),
    ("1085666", "Sports & Outdoors", [("4125", "Camping", ["Tents"]), ("1074324", "Cycling", ["Bikes"])]),
]
BRANDS = ["Signature", "Onn", "Mainstays", "Great Value", "OREO", "Kellogg's", "Samsung", "LG",
          "Sony", "HP", "Lenovo", "Ozark Trail", "LEGO", "Barbie", "Hanes", "George", "Hyper Tough",
          "Better Homes & Gardens", "Pioneer Woman", "Equate"]
ADJECTIVES = ["Premium", "Classic", "Wireless", "Compact", "Deluxe", "Everyday", "Pro", "Ultra",
              "Smart", "Family Size", "Organic", "Heavy Duty"]
COLORS = ["Black", "Silver", "Blue", "Red", "White", "Green", "Gray"]
STOCK = ["Available", "Available", "Available", "Available", "Limited Supply", "Not available"]
MASK = (1 << 64) - 1


def mix(*parts):
    """splitmix64 over the parts: a deterministic 64-bit hash, cheap in pure Python."""
    h = SEED
    for p in parts:
        h = (h ^ (p & MASK)) * 0x9E3779B97F4A7C15 & MASK
        h ^= h >> 30
        h = h * 0xBF58476D1CE4E5B9 & MASK
        h ^= h >> 27
        h = h * 0x94D049BB133111EB & MASK
        h ^= h >> 31
    return h


def unit(*parts):
    return mix(*parts) / 2.0**64


def iso(t):
    """chrono's RFC 3339 for DateTime<Utc> as serde writes it: `Z`, millis only when nonzero."""
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += ".%03d" % (t.microsecond // 1000)
    return s + "Z"


def id_prefix(source, endpoint, request_key):
    """RecordEnvelope::derive_id up to the position: SHA-256 over the parts."""
    h = hashlib.sha256()
    for part in (source, endpoint, request_key):
        h.update(part.encode())
        h.update(b"\0")
    return h


def derive_id(source, endpoint, request_key, position, prefix=None):
    """RecordEnvelope::derive_id: SHA-256 over the parts, 16-byte hex prefix."""
    h = (prefix or id_prefix(source, endpoint, request_key)).copy()
    h.update(b"whole" if position is None else position.to_bytes(4, "big"))
    return h.hexdigest()[:32]


class Item:
    __slots__ = ("item_id", "base", "has_msrp", "period", "offset", "head", "mid", "tail", "name")


def make_items(n):
    paths = []
    for cid, top, subs in CATEGORIES:
        for sid, sub, leaves in subs:
            for k, leaf in enumerate(leaves):
                paths.append((f"{top}/{sub}/{leaf}", f"{cid}_{sid}_{k + 1}"))
    items = []
    for i in range(n):
        it = Item()
        it.item_id = 110000000 + i * 37 + (mix(i, 1) % 37)
        path, node = paths[mix(i, 2) % len(paths)]
        brand = BRANDS[mix(i, 3) % len(BRANDS)] if unit(i, 4) < 0.85 else None
        noun = path.rsplit("/", 1)[1].rstrip("s")
        name = (f"{brand or 'Generic'} {ADJECTIVES[mix(i, 5) % len(ADJECTIVES)]} {noun} "
                f"{chr(65 + mix(i, 6) % 26)}{chr(65 + mix(i, 7) % 26)}-{mix(i, 8) % 1000}, "
                f"{COLORS[mix(i, 9) % len(COLORS)]}")
        it.name = name
        it.base = round(2 + 500 * unit(i, 10) ** 3, 2)
        it.has_msrp = unit(i, 11) < 0.7
        it.period = 24 + mix(i, 12) % 145  # price changes every 1 to 7 days
        it.offset = mix(i, 13) % it.period
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        img = f"https://i5.walmartimages.com/asr/{mix(i, 14) % (1 << 32):08x}-{mix(i, 15) % 65536:04x}.jpeg"
        it.head = (f'{{"itemId":{it.item_id},"parentItemId":{it.item_id},"name":{json.dumps(name)},')
        desc = f"&lt;p&gt;{name}. Everyday low price, backed by our guarantee.&lt;/p&gt;"
        it.mid = (f'"upc":"{mix(i, 16) % 10**12:012d}","categoryPath":{json.dumps(path)},'
                  f'"categoryNode":"{node}","shortDescription":{json.dumps(desc)},'
                  + (f'"brandName":{json.dumps(brand)},' if brand else "")
                  + f'"thumbnailImage":"{img}?odnHeight=100&odnWidth=100",'
                  f'"mediumImage":"{img}?odnHeight=180&odnWidth=180",'
                  f'"productUrl":"https://www.walmart.com/ip/{slug}/{it.item_id}",'
                  f'"standardShipRate":{0.0 if unit(i, 17) < 0.5 else 5.99},"marketplace":false,'
                  + (f'"customerRating":"{1 + 4 * unit(i, 18):.1f}",' if unit(i, 19) < 0.8 else "")
                  + f'"numReviews":{mix(i, 20) % 2000},')
        it.tail = (f',"freeShipToStore":{"true" if unit(i, 21) < 0.6 else "false"},"availableOnline":true,'
                   f'"offerType":"ONLINE_AND_STORE","bundle":false,"attributes":{{"color":"{COLORS[mix(i, 9) % len(COLORS)]}"}}}}')
        items.append(it)
    return items


_PAYLOADS = {}


def item_payload(it, i, hour):
    """The item's JSON as polled in `hour`: price level constant over the item's period
    (cached per worker: a worker gets consecutive hours)."""
    level = (hour + it.offset) // it.period
    cached = _PAYLOADS.get(i)
    if cached is not None and cached[0] == level:
        return cached[1]
    payload = _item_payload(it, i, level)
    _PAYLOADS[i] = (level, payload)
    return payload


def _item_payload(it, i, level):
    u = unit(i, 100, level)
    factor = 0.7 + 0.6 * u
    sale = round(it.base * factor, 2)
    rollback = 0.7 <= factor < 0.82
    clearance = factor < 0.7 + 0.6 * 0.03
    stock = STOCK[mix(i, 101, level) % len(STOCK)]
    msrp = f'"msrp":{round(it.base * 1.1, 2)},' if it.has_msrp else ""
    head = it.head
    # About one item in twelve is renamed now and then (new packaging, another size), as the
    # emulator does, so the items table has versions to build: a variant per 3 price levels.
    if unit(i, 30) < 0.08:
        variant = ("", " (New Packaging)", " - Value Size")[mix(i, 31, level // 3) % 3]
        if variant:
            head = head.replace(json.dumps(it.name), json.dumps(it.name + variant), 1)
    return (f'{head}{msrp}"salePrice":{sale},{it.mid}"rollBack":{"true" if rollback else "false"},'
            f'"clearance":{"true" if clearance else "false"},"specialBuy":false,"stock":"{stock}"{it.tail}')


def fx_series(hours):
    """USDxxx per hour: a seeded random walk, one draw per currency per hour in a fixed order,
    so that extending the series never changes earlier hours."""
    rng = random.Random(SEED)
    rates = dict(FX_START)
    out = []
    for _ in range(hours):
        row = {}
        for c in FX_CURRENCIES:
            rates[c] *= math.exp(rng.gauss(0, 0.002))
            row[c] = float(f"{rates[c]:.6g}")
        out.append(row)
    return out


def hour_start(h):
    return START + timedelta(hours=h)


class Writer:
    """Cuts one prefix's lines into objects of at most BUFFER_BYTES, named like delivery."""

    def __init__(self, lake, source, endpoint, hour, stream_no):
        self.lake, self.source, self.endpoint, self.hour = lake, source, endpoint, hour
        self.stream_no = stream_no
        self.lines, self.size, self.oldest, self.objects, self.bytes = [], 0, None, 0, 0

    def add(self, line, at):
        if self.oldest is None:
            self.oldest = at
        self.lines.append(line)
        self.size += len(line) + 1
        if self.size >= BUFFER_BYTES:
            self.flush()

    def flush(self):
        if not self.lines:
            return
        t = self.oldest
        seq = self.hour * 10000 + self.stream_no * 1000 + self.objects + 1
        u = uuid.UUID(int=mix(self.hour, self.stream_no, self.objects) << 64 | mix(self.hour, self.objects, 7), version=4)
        d = os.path.join(self.lake, "raw", self.source, self.endpoint, t.strftime("%Y/%m/%d/%H"))
        os.makedirs(d, exist_ok=True)
        name = f"{STREAM}-{seq:010d}-{t.strftime('%Y%m%dT%H%M%SZ')}-{u}.ndjson.gz"
        body = gzip.compress(("\n".join(self.lines) + "\n").encode(), compresslevel=1, mtime=0)
        tmp = os.path.join(d, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
        os.replace(tmp, os.path.join(d, name))
        self.objects += 1
        self.bytes += len(body)
        self.lines, self.size, self.oldest = [], 0, None


def envelope(record_id, source, endpoint, at, url, position, payload, context=None):
    pos = "" if position is None else f',"position":{position}'
    ctx = "" if context is None else f',"context":{context}'
    return (f'{{"kind":"raw","record_id":"{record_id}","source":"{source}","endpoint":"{endpoint}",'
            f'"fetched_at":"{at if isinstance(at, str) else iso(at)}","request_url":"{url}","http_status":200{pos}{ctx},'
            f'"payload":{payload}}}')


_ITEMS = None


def _init(n_items):
    global _ITEMS
    _ITEMS = make_items(n_items)


def gen_hour(args):
    """Writes every object of one hour; returns its counts."""
    lake, hour, first, count, fx_row = args
    items = _ITEMS
    n_items = len(items)
    t0 = hour_start(hour)
    slot = t0.isoformat()  # chrono's to_rfc3339: 2026-01-01T00:00:00+00:00
    stats = {"observations": 0, "duplicates": 0, "refetched": 0, "malformed": 0, "fx_quotes": 0}

    # FX: one /live body per hour.
    fx = Writer(lake, "currencylayer", "live", hour, 0)
    url = (f"{HOST}/api/live?access_key=REDACTED&source=USD&currencies={','.join(FX_CURRENCIES)}")
    quotes = ",".join(f'"USD{c}":{fx_row[c]!r}' for c in FX_CURRENCIES)
    body = (f'{{"success":true,"terms":"https://currencylayer.com/terms","privacy":"https://currencylayer.com/privacy",'
            f'"timestamp":{int(t0.timestamp())},"source":"USD","quotes":{{{quotes}}}}}')
    at = t0 + timedelta(milliseconds=500)
    fx.add(envelope(derive_id("currencylayer", "live", f"{url}@{slot}", None), "currencylayer", "live",
                    at, url, None, body), at)
    fx.flush()
    stats["fx_quotes"] += len(FX_CURRENCIES)

    # Items: `count` items from `first` (wrapping), 20 per request.
    w = Writer(lake, "walmart", "items", hour, 1)
    redelivered = []
    idx = [(first + k) % n_items for k in range(count)]
    for r in range(0, count, IDS_PER_REQUEST):
        batch = idx[r:r + IDS_PER_REQUEST]
        at = t0 + timedelta(seconds=60, milliseconds=REQUEST_SPACING_MS * (r // IDS_PER_REQUEST))
        url = f"{HOST}/v1/items?ids={','.join(str(items[i].item_id) for i in batch)}&apiKey=REDACTED"
        key = f"{url}@{slot}"
        prefix = id_prefix("walmart", "items", key)
        at_text = iso(at)
        for pos, i in enumerate(batch):
            line = envelope(derive_id("walmart", "items", key, pos, prefix), "walmart", "items", at_text,
                            url, pos, item_payload(items[i], i, hour))
            w.add(line, at)
            stats["observations"] += 1
            m = (i * 2654435761 + hour * 40503 + (i * hour) * 97) % 100003
            if m < DUP_PER_MILLE * 100:
                redelivered.append((line, at))
            elif m < DUP_PER_MILLE * 100 + REFETCH_PER_100K:
                # The same item fetched again by a single-id request at the same instant.
                url1 = f"{HOST}/v1/items/{items[i].item_id}?apiKey=REDACTED"
                redelivered.append((envelope(derive_id("walmart", "items", f"{url1}@{slot}", None),
                                             "walmart", "items", at, url1, None, item_payload(items[i], i, hour)), at))
                stats["refetched"] += 1
    if hour % MALFORMED_EVERY_HOURS == 3 and w.lines:
        w.add(w.lines[-1][: len(w.lines[-1]) // 2], t0)  # a torn write: half a line
        stats["malformed"] += 1
    w.flush()
    # Replays land as their own objects, as a retried delivery would.
    for line, at in redelivered:
        w.add(line, at)
    stats["duplicates"] = len(redelivered) - stats["refetched"]
    w.flush()

    # Once a day: the value of the day (09:00) and the trends list (12:00).
    day = hour // 24
    stats["objects"] = fx.objects + w.objects
    if hour % 24 == 9:
        v = Writer(lake, "walmart", "vod", hour, 2)
        i = mix(day, 300) % n_items
        at = t0 + timedelta(milliseconds=700)
        url = f"{HOST}/v1/vod?apiKey=REDACTED"
        v.add(envelope(derive_id("walmart", "vod", f"{url}@{slot}", None), "walmart", "vod", at, url, None,
                       item_payload(items[i], i, hour)), at)
        v.flush()
        stats["observations"] += 1
        stats["objects"] += v.objects
    if hour % 24 == 12:
        tr = Writer(lake, "walmart", "trends", hour, 3)
        at = t0 + timedelta(milliseconds=200)
        url = f"{HOST}/v1/trends?apiKey=REDACTED"
        ctx = f'{{"time":{int(at.timestamp() * 1000)}}}'
        chosen = []
        for k in range(25):
            i = mix(day, 400, k) % min(n_items, 500)  # trends favour a few hundred items
            if i not in chosen:
                chosen.append(i)
        for pos, i in enumerate(chosen):
            tr.add(envelope(derive_id("walmart", "trends", f"{url}@{slot}", pos), "walmart", "trends", at, url,
                            pos, item_payload(items[i], i, hour), ctx), at)
        tr.flush()
        stats["observations"] += len(chosen)
        stats["objects"] += tr.objects
    stats["hour"] = hour
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lake")
    ap.add_argument("--observations", type=int, default=10_000_000)
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--hours", type=int)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--add-hour", action="store_true", help="append one more hour to an existing lake")
    a = ap.parse_args()
    meta_path = os.path.join(a.lake, "_bench", "gen.json")
    started = time.time()
    if a.add_hour:
        with open(meta_path) as f:
            meta = json.load(f)
        hours = [meta["hours_written"]]
        per_hour = meta["per_hour"]
        plan = [(h, (h * per_hour) % meta["items"], per_hour) for h in hours]
    else:
        if os.path.exists(os.path.join(a.lake, "raw")):
            sys.exit(f"{a.lake}/raw exists; remove it or use --add-hour")
        n_hours = a.hours or math.ceil(a.observations / a.items)
        per_hour = math.ceil(a.observations / n_hours)
        if per_hour > a.items:
            sys.exit(f"{per_hour} observations per hour > --items {a.items}; raise --hours or --items")
        meta = {"seed": SEED, "items": a.items, "per_hour": per_hour, "hours_written": 0,
                "start": iso(START), "totals": {}}
        plan = []
        left = a.observations
        for h in range(n_hours):
            c = min(per_hour, left)
            plan.append((h, (h * per_hour) % a.items, c))
            left -= c
    last = max(h for h, _, _ in plan)
    fx = fx_series(last + 1)
    jobs = [(a.lake, h, first, c, fx[h]) for h, first, c in plan]
    totals = meta["totals"]
    with mp.Pool(a.workers, initializer=_init, initargs=(meta["items"],)) as pool:
        chunk = max(1, len(jobs) // (a.workers * 8))  # consecutive hours per task: payload cache hits
        for n, s in enumerate(pool.imap_unordered(gen_hour, jobs, chunksize=chunk), 1):
            for k, v in s.items():
                if k != "hour":
                    totals[k] = totals.get(k, 0) + v
            if n % 50 == 0 or n == len(jobs):
                print(f"  {n}/{len(jobs)} hours, {totals['observations']} observations, "
                      f"{time.time() - started:.0f} s", file=sys.stderr)
    meta["hours_written"] = last + 1
    os.makedirs(os.path.dirname(meta_path), exist_ok=True)
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({"hours": [plan[0][0], last], "elapsed_s": round(time.time() - started, 1), **totals}))


if __name__ == "__main__":
    main()
