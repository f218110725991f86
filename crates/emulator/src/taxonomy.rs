//! A realistic product taxonomy: Walmart's department ids for the top level, children
//! with ids joined by underscores (`3944_1060825_447913`), as `/taxonomy` shows it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::hash::str_hash;

/// One node of the taxonomy, as the generated catalog and fixtures describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Full id, ancestors' ids joined with `_`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Sub-categories; empty for a leaf.
    #[serde(default)]
    pub children: Vec<Category>,
}

pub(crate) struct LeafSpec {
    pub name: &'static str,
    pub nouns: &'static [&'static str],
    pub price: (f64, f64),
}

pub(crate) struct CatSpec {
    pub name: &'static str,
    /// Empty: the category itself is the leaf (a 2-level node).
    pub leaves: &'static [LeafSpec],
    pub nouns: &'static [&'static str],
    pub price: (f64, f64),
}

pub(crate) struct DeptSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub brands: &'static [&'static str],
    pub cats: &'static [CatSpec],
}

const fn leaf(name: &'static str, nouns: &'static [&'static str], price: (f64, f64)) -> LeafSpec {
    LeafSpec { name, nouns, price }
}

const fn cat(name: &'static str, leaves: &'static [LeafSpec]) -> CatSpec {
    CatSpec {
        name,
        leaves,
        nouns: &[],
        price: (0.0, 0.0),
    }
}

const fn cat_leaf(
    name: &'static str,
    nouns: &'static [&'static str],
    price: (f64, f64),
) -> CatSpec {
    CatSpec {
        name,
        leaves: &[],
        nouns,
        price,
    }
}

/// Departments, their categories, brands, product nouns and price ranges (USD).
pub(crate) const DEPARTMENTS: &[DeptSpec] = &[
    DeptSpec {
        id: "3944",
        name: "Electronics",
        brands: &[
            "Samsung", "Sony", "LG", "TCL", "VIZIO", "onn.", "HP", "Lenovo", "JBL", "Bose",
        ],
        cats: &[
            cat(
                "TV & Video",
                &[
                    leaf(
                        "Televisions",
                        &["4K UHD Smart TV", "1080p LED TV", "QLED Smart TV"],
                        (120.0, 1500.0),
                    ),
                    leaf(
                        "Streaming Devices",
                        &["Streaming Stick", "4K Streaming Media Player"],
                        (25.0, 150.0),
                    ),
                ],
            ),
            cat(
                "Computers",
                &[
                    leaf(
                        "Laptops",
                        &["Laptop", "Chromebook", "2-in-1 Laptop"],
                        (180.0, 1400.0),
                    ),
                    leaf(
                        "Monitors",
                        &["Monitor", "Curved Gaming Monitor"],
                        (90.0, 600.0),
                    ),
                ],
            ),
            cat(
                "Audio",
                &[
                    leaf(
                        "Headphones",
                        &[
                            "Wireless Earbuds",
                            "Over-Ear Headphones",
                            "Noise Cancelling Headphones",
                        ],
                        (15.0, 350.0),
                    ),
                    leaf(
                        "Speakers",
                        &["Bluetooth Speaker", "Soundbar"],
                        (25.0, 500.0),
                    ),
                ],
            ),
        ],
    },
    DeptSpec {
        id: "4044",
        name: "Home",
        brands: &[
            "Mainstays",
            "Better Homes & Gardens",
            "Keurig",
            "Ninja",
            "Instant Pot",
            "Shark",
            "KitchenAid",
            "Hamilton Beach",
            "Rubbermaid",
        ],
        cats: &[
            cat(
                "Kitchen & Dining",
                &[
                    leaf(
                        "Small Appliances",
                        &[
                            "Air Fryer",
                            "Coffee Maker",
                            "Blender",
                            "Pressure Cooker",
                            "Stand Mixer",
                        ],
                        (20.0, 450.0),
                    ),
                    leaf(
                        "Cookware",
                        &[
                            "Nonstick Cookware Set",
                            "Cast Iron Skillet",
                            "Stainless Steel Stock Pot",
                        ],
                        (15.0, 200.0),
                    ),
                ],
            ),
            cat(
                "Bedding",
                &[
                    leaf(
                        "Sheets",
                        &["Microfiber Sheet Set", "Cotton Sheet Set"],
                        (12.0, 90.0),
                    ),
                    leaf(
                        "Comforters",
                        &["Comforter Set", "Down Alternative Comforter"],
                        (25.0, 150.0),
                    ),
                ],
            ),
            cat_leaf(
                "Vacuums & Floor Care",
                &["Cordless Stick Vacuum", "Robot Vacuum", "Upright Vacuum"],
                (60.0, 650.0),
            ),
        ],
    },
    DeptSpec {
        id: "976759",
        name: "Grocery",
        brands: &[
            "Great Value",
            "Marketside",
            "Kellogg's",
            "General Mills",
            "Folgers",
            "Starbucks",
            "Lay's",
            "OREO",
            "Coca-Cola",
            "Sam's Choice",
        ],
        cats: &[
            cat(
                "Pantry",
                &[
                    leaf(
                        "Breakfast & Cereal",
                        &["Cereal", "Instant Oatmeal", "Granola"],
                        (2.0, 9.0),
                    ),
                    leaf(
                        "Coffee",
                        &["Ground Coffee", "K-Cup Pods", "Whole Bean Coffee"],
                        (5.0, 25.0),
                    ),
                ],
            ),
            cat(
                "Snacks",
                &[
                    leaf("Chips", &["Potato Chips", "Tortilla Chips"], (2.0, 7.0)),
                    leaf(
                        "Cookies",
                        &["Sandwich Cookies", "Chocolate Chip Cookies"],
                        (2.0, 6.0),
                    ),
                ],
            ),
            cat_leaf(
                "Beverages",
                &["Soda 12-Pack", "Sparkling Water 8-Pack"],
                (4.0, 9.0),
            ),
        ],
    },
    DeptSpec {
        id: "4171",
        name: "Toys",
        brands: &[
            "LEGO",
            "Hasbro",
            "Mattel",
            "Hot Wheels",
            "Nerf",
            "Fisher-Price",
            "Melissa & Doug",
            "Funko",
        ],
        cats: &[
            cat_leaf(
                "Building Sets",
                &["Building Set", "Creative Brick Box"],
                (10.0, 200.0),
            ),
            cat_leaf(
                "Action Figures",
                &["Action Figure", "Collectible Figure"],
                (8.0, 40.0),
            ),
            cat(
                "Games & Puzzles",
                &[
                    leaf("Board Games", &["Board Game", "Card Game"], (8.0, 45.0)),
                    leaf(
                        "Puzzles",
                        &["1000-Piece Puzzle", "Jigsaw Puzzle"],
                        (8.0, 25.0),
                    ),
                ],
            ),
        ],
    },
    DeptSpec {
        id: "5438",
        name: "Clothing",
        brands: &[
            "George",
            "Time and Tru",
            "Hanes",
            "Fruit of the Loom",
            "Levi's",
            "Wrangler",
            "Athletic Works",
            "Gildan",
        ],
        cats: &[
            cat(
                "Men",
                &[
                    leaf(
                        "Men's Shirts",
                        &["Men's Crew Neck T-Shirt", "Men's Polo Shirt"],
                        (5.0, 30.0),
                    ),
                    leaf(
                        "Men's Jeans",
                        &["Men's Relaxed Fit Jeans", "Men's Slim Jeans"],
                        (15.0, 60.0),
                    ),
                ],
            ),
            cat(
                "Women",
                &[
                    leaf(
                        "Women's Tops",
                        &["Women's Tunic Top", "Women's Knit Top"],
                        (6.0, 30.0),
                    ),
                    leaf(
                        "Women's Dresses",
                        &["Women's Midi Dress", "Women's Maxi Dress"],
                        (12.0, 45.0),
                    ),
                ],
            ),
            cat_leaf("Shoes", &["Running Shoe", "Slip-On Sneaker"], (15.0, 90.0)),
        ],
    },
    DeptSpec {
        id: "4125",
        name: "Sports & Outdoors",
        brands: &[
            "Ozark Trail",
            "Coleman",
            "Schwinn",
            "Huffy",
            "Spalding",
            "Wilson",
            "Everlast",
            "CAP Barbell",
        ],
        cats: &[
            cat(
                "Camping",
                &[
                    leaf(
                        "Tents",
                        &["4-Person Dome Tent", "Instant Cabin Tent"],
                        (40.0, 250.0),
                    ),
                    leaf("Coolers", &["Hard Cooler", "Rolling Cooler"], (20.0, 180.0)),
                ],
            ),
            cat_leaf(
                "Bikes",
                &["Mountain Bike", "Cruiser Bike", "Kids' Bike"],
                (80.0, 450.0),
            ),
            cat_leaf(
                "Exercise & Fitness",
                &["Adjustable Dumbbell Set", "Yoga Mat", "Exercise Bike"],
                (12.0, 400.0),
            ),
        ],
    },
    DeptSpec {
        id: "1085666",
        name: "Beauty",
        brands: &[
            "Neutrogena",
            "CeraVe",
            "L'Oreal Paris",
            "Maybelline",
            "Olay",
            "Dove",
            "Revlon",
            "e.l.f.",
        ],
        cats: &[
            cat_leaf(
                "Skin Care",
                &[
                    "Hydrating Facial Cleanser",
                    "Daily Moisturizing Lotion",
                    "Retinol Serum",
                ],
                (6.0, 40.0),
            ),
            cat_leaf(
                "Makeup",
                &["Volumizing Mascara", "Liquid Foundation", "Matte Lipstick"],
                (4.0, 20.0),
            ),
            cat_leaf(
                "Hair Care",
                &["Shampoo", "Conditioner", "Ionic Hair Dryer"],
                (4.0, 90.0),
            ),
        ],
    },
    DeptSpec {
        id: "5427",
        name: "Baby",
        brands: &[
            "Pampers",
            "Huggies",
            "Parent's Choice",
            "Graco",
            "Evenflo",
            "Gerber",
            "Chicco",
        ],
        cats: &[
            cat_leaf(
                "Diapering",
                &["Diapers Size 3", "Baby Wipes 8-Pack"],
                (8.0, 55.0),
            ),
            cat_leaf(
                "Car Seats & Strollers",
                &["Convertible Car Seat", "Travel System Stroller"],
                (70.0, 350.0),
            ),
            cat_leaf(
                "Feeding",
                &["Baby Bottles 3-Pack", "Infant Formula"],
                (8.0, 40.0),
            ),
        ],
    },
];

/// A place where generated products go: its department, full id and path, and what
/// products there are called and cost.
pub(crate) struct Leaf {
    pub dept: &'static DeptSpec,
    pub id: String,
    pub path: String,
    pub nouns: &'static [&'static str],
    pub price: (f64, f64),
}

/// A child id: 6 or 7 digits derived from the path, so it never depends on the seed.
fn child_id(parent_id: &str, path: &str) -> String {
    format!("{parent_id}_{}", 100_000 + str_hash(path) % 8_900_000)
}

/// The built-in taxonomy and its leaves, in table order.
pub(crate) fn builtin() -> (Vec<Category>, Vec<Leaf>) {
    let mut roots = Vec::new();
    let mut leaves = Vec::new();
    for dept in DEPARTMENTS {
        let mut cats = Vec::new();
        for c in dept.cats {
            let cat_path = format!("{}/{}", dept.name, c.name);
            let cat_id = child_id(dept.id, &cat_path);
            let mut children = Vec::new();
            if c.leaves.is_empty() {
                leaves.push(Leaf {
                    dept,
                    id: cat_id.clone(),
                    path: cat_path.clone(),
                    nouns: c.nouns,
                    price: c.price,
                });
            }
            for l in c.leaves {
                let path = format!("{cat_path}/{}", l.name);
                let id = child_id(&cat_id, &path);
                children.push(Category {
                    id: id.clone(),
                    name: l.name.to_string(),
                    children: Vec::new(),
                });
                leaves.push(Leaf {
                    dept,
                    id,
                    path,
                    nouns: l.nouns,
                    price: l.price,
                });
            }
            cats.push(Category {
                id: cat_id,
                name: c.name.to_string(),
                children,
            });
        }
        roots.push(Category {
            id: dept.id.to_string(),
            name: dept.name.to_string(),
            children: cats,
        });
    }
    (roots, leaves)
}

/// The `/taxonomy` body: `{"categories":[{"id","name","path","children"}]}`; leaves have
/// no `children` key, as in the real API.
pub(crate) fn to_json(roots: &[Category]) -> Value {
    fn node(c: &Category, parent_path: Option<&str>) -> Value {
        let path = match parent_path {
            Some(p) => format!("{p}/{}", c.name),
            None => c.name.clone(),
        };
        let mut v = json!({"id": c.id, "name": c.name, "path": path});
        if !c.children.is_empty() {
            v["children"] = Value::Array(c.children.iter().map(|k| node(k, Some(&path))).collect());
        }
        v
    }
    json!({"categories": roots.iter().map(|c| node(c, None)).collect::<Vec<_>>()})
}

/// Every node's id with its `/`-joined path, for resolving a fixture item's category.
pub(crate) fn paths(roots: &[Category]) -> Vec<(String, String)> {
    fn walk(c: &Category, parent: Option<&str>, out: &mut Vec<(String, String)>) {
        let path = match parent {
            Some(p) => format!("{p}/{}", c.name),
            None => c.name.clone(),
        };
        out.push((c.id.clone(), path.clone()));
        for k in &c.children {
            walk(k, Some(&path), out);
        }
    }
    let mut out = Vec::new();
    for c in roots {
        walk(c, None, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_nest_and_are_unique() {
        let (roots, leaves) = builtin();
        assert_eq!(roots.len(), 8);
        let all = paths(&roots);
        let mut ids: Vec<&String> = all.iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate taxonomy ids");
        for l in &leaves {
            let dept_id = l.id.split('_').next().unwrap();
            assert_eq!(dept_id, l.dept.id);
            assert!(l.path.starts_with(l.dept.name));
            assert!(all.iter().any(|(id, p)| id == &l.id && p == &l.path));
        }
        let body = to_json(&roots);
        assert_eq!(body["categories"][0]["id"], "3944");
        assert_eq!(
            body["categories"][0]["children"][0]["path"],
            "Electronics/TV & Video"
        );
    }
}
