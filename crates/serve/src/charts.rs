//! Server-side SVG charts drawn with plotters: time series with sorted time axes, labelled
//! units and currencies, and a `<title>` on every point for hover values. plotters escapes
//! every text it draws, so names from the APIs cannot inject markup.

use chrono::NaiveDate;
use plotters::prelude::*;

/// One named line.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points; sorted by date here, whatever order they came in.
    pub points: Vec<(NaiveDate, f64)>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(37, 99, 235),
    RGBColor(220, 38, 38),
    RGBColor(5, 150, 105),
    RGBColor(217, 119, 6),
    RGBColor(124, 58, 237),
    RGBColor(8, 145, 178),
    RGBColor(190, 24, 93),
    RGBColor(75, 85, 99),
];

/// A line chart over dates. Returns an SVG document.
pub fn line_chart(title: &str, y_label: &str, mut series: Vec<Series>) -> String {
    for s in &mut series {
        s.points.sort_by_key(|(d, _)| *d);
        s.points.retain(|(_, v)| v.is_finite());
    }
    series.retain(|s| !s.points.is_empty());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if series.is_empty() {
            let _ = root.draw(&Text::new(
                format!("{title}: no data yet"),
                (20, 150),
                ("sans-serif", 18).into_font(),
            ));
            let _ = root.present();
        } else {
            let (mut x0, mut x1, mut y0, mut y1) =
                (NaiveDate::MAX, NaiveDate::MIN, f64::MAX, f64::MIN);
            for s in &series {
                for (d, v) in &s.points {
                    x0 = x0.min(*d);
                    x1 = x1.max(*d);
                    y0 = y0.min(*v);
                    y1 = y1.max(*v);
                }
            }
            if x0 == x1 {
                x1 = x0 + chrono::Duration::days(1);
            }
            let pad = ((y1 - y0).abs() * 0.08).max(y1.abs() * 0.01).max(1e-9);
            let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
                let mut chart = ChartBuilder::on(&root)
                    .caption(title, ("sans-serif", 18))
                    .margin(12)
                    .x_label_area_size(36)
                    .y_label_area_size(64)
                    .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
                chart
                    .configure_mesh()
                    .x_labels(8)
                    .y_labels(6)
                    .x_desc("date (UTC)")
                    .y_desc(y_label)
                    .x_label_formatter(&|d: &NaiveDate| d.format("%m-%d").to_string())
                    .light_line_style(RGBColor(238, 238, 238))
                    .draw()?;
                for (i, s) in series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    chart
                        .draw_series(LineSeries::new(
                            s.points.iter().copied(),
                            color.stroke_width(2),
                        ))?
                        .label(s.name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                        });
                    chart
                        .draw_series(s.points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
                }
                if series.len() > 1 {
                    chart
                        .configure_series_labels()
                        .border_style(BLACK)
                        .background_style(WHITE.mix(0.85))
                        .draw()?;
                }
                root.present()?;
                Ok(())
            })();
            if let Err(e) = drawn {
                tracing::warn!(error = %e, "chart not drawn");
            }
        }
    }
    add_hover_titles(svg, &series, y_label)
}

/// A horizontal-free bar chart of labelled values (trending, moves). Returns an SVG document.
pub fn bar_chart(title: &str, y_label: &str, bars: &[(String, f64)]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if bars.is_empty() {
            let _ = root.draw(&Text::new(
                format!("{title}: no data yet"),
                (20, 150),
                ("sans-serif", 18).into_font(),
            ));
        } else {
            let max = bars
                .iter()
                .map(|(_, v)| *v)
                .fold(f64::MIN, f64::max)
                .max(0.0);
            let min = bars
                .iter()
                .map(|(_, v)| *v)
                .fold(f64::MAX, f64::min)
                .min(0.0);
            let n = bars.len();
            let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
                let mut chart = ChartBuilder::on(&root)
                    .caption(title, ("sans-serif", 18))
                    .margin(12)
                    .x_label_area_size(36)
                    .y_label_area_size(64)
                    .build_cartesian_2d(
                        (0..n).into_segmented(),
                        min..(max * 1.1).max(min + 1e-9),
                    )?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .y_desc(y_label)
                    .x_desc("rank")
                    .x_label_formatter(&|x| match x {
                        SegmentValue::CenterOf(i) => (i + 1).to_string(),
                        _ => String::new(),
                    })
                    .draw()?;
                chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), 0.0),
                            (SegmentValue::Exact(i + 1), *v),
                        ],
                        PALETTE[0].mix(0.8).filled(),
                    );
                    bar.set_margin(0, 0, 3, 3);
                    bar
                }))?;
                root.present()?;
                Ok(())
            })();
            if let Err(e) = drawn {
                tracing::warn!(error = %e, "chart not drawn");
            }
        }
    }
    let labels: Vec<String> = bars
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            format!(
                "{}. {}: {:.2} {}",
                i + 1,
                xml_escape(name),
                v,
                xml_escape(y_label)
            )
        })
        .collect();
    insert_before_end(svg, &format!("<desc>{}</desc>", labels.join("; ")))
}

/// Adds an invisible `<title>` element per point, so hovering a point shows its value.
fn add_hover_titles(svg: String, series: &[Series], unit: &str) -> String {
    let mut extra = String::from("<g class=\"hover\">");
    for s in series {
        for (d, v) in &s.points {
            extra.push_str(&format!(
                "<title>{}: {} = {:.4} {}</title>",
                xml_escape(&s.name),
                d,
                v,
                xml_escape(unit)
            ));
        }
    }
    extra.push_str("</g>");
    insert_before_end(svg, &extra)
}

fn insert_before_end(mut svg: String, extra: &str) -> String {
    match svg.rfind("</svg>") {
        Some(i) => {
            svg.insert_str(i, extra);
            svg
        }
        None => svg,
    }
}

/// Escapes text for XML and HTML.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn charts_are_svg_and_never_carry_markup_from_names() {
        let hostile = "<script>alert(1)</script>";
        let svg = line_chart(
            hostile,
            "EUR",
            vec![Series {
                name: hostile.into(),
                points: vec![(d("2026-01-02"), 2.0), (d("2026-01-01"), 1.0)],
            }],
        );
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(!svg.contains("<script"), "unescaped markup in the chart");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(
            svg.contains("2026-01-01 = 1.0000 EUR"),
            "hover values are present"
        );
        let bars = bar_chart("t", "appearances", &[(hostile.into(), 3.0)]);
        assert!(!bars.contains("<script"));
    }

    #[test]
    fn empty_charts_say_so() {
        assert!(line_chart("FX", "rate", vec![]).contains("no data yet"));
    }
}
