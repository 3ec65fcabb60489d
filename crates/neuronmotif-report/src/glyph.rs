//! The four letter outlines and their colours.
//!
//! Each letter is one closed outline (A and its counter are two sub-paths of opposite winding, so
//! the default `nonzero` fill rule cuts the hole) drawn in a unit box: x and y run from 0 to 1,
//! y downwards, and the outline touches all four sides. A logo stretches the box to the column
//! width and the letter's height with a `matrix(sx 0 0 sy x y)` transform, so the drawn height
//! of a glyph is exactly its scale factor `sy`.
//!
//! The shapes are plain geometry designed for this crate: A is a trapezoid with a crossbar
//! (stroke about 0.2 of the box), C a ring of outer radius 0.5 and inner radius 0.31 opened by
//! ±40° on the right, G the same ring with its lower jaw closed into a horizontal bar, and T a
//! bar of height 0.19 over a centred stem of width 0.19.

use neuronmotif_core::Base;

/// Outline of A: the body (clockwise) and the triangular counter (anticlockwise).
const A: &str = "M0 1L.39 0H.61L1 1H.78L.69 .76H.31L.22 1ZM.5 .26L.375 .58H.625Z";
/// Outline of C: outer arc anticlockwise from 40° above the right, inner arc back.
const C: &str = "M.883 .179A.5 .5 0 1 0 .883 .821L.737 .699A.31 .31 0 1 1 .737 .301Z";
/// Outline of G: the C ring, closed on the lower right by a bar from the right edge to x = 0.55.
const G: &str = "M.883 .179A.5 .5 0 1 0 1 .5H.55V.64H.777A.31 .31 0 1 1 .737 .301Z";
/// Outline of T: top bar and stem.
const T: &str = "M0 0H1V.19H.595V1H.405V.19H0Z";

/// The path data (`d` attribute) of a base's outline in the unit box.
pub fn glyph_path(base: Base) -> &'static str {
    match base {
        Base::A => A,
        Base::C => C,
        Base::G => G,
        Base::T => T,
    }
}

/// The fill colour of a base: A green, C blue, G orange, T red.
pub fn glyph_color(base: Base) -> &'static str {
    match base {
        Base::A => "#1b9e3e",
        Base::C => "#1f5fbf",
        Base::G => "#f39200",
        Base::T => "#d7261e",
    }
}

/// A hidden `<svg>` holding the four outlines as `<path id="{id_prefix}A">` ... `T`, for logos
/// drawn with [`GlyphRefs::Shared`](crate::GlyphRefs::Shared).
///
/// Put it once in an HTML page, before or after the logos that refer to it. `id_prefix` must be
/// a valid start of an XML id (letters, digits, `-`, `_`, not starting with a digit); other
/// characters are replaced by `_`.
pub fn glyph_defs_svg(id_prefix: &str) -> String {
    let prefix = crate::markup::id_safe(id_prefix);
    let mut out = String::with_capacity(600);
    out.push_str(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" \
         style=\"position:absolute\" aria-hidden=\"true\" focusable=\"false\"><defs>",
    );
    for base in Base::ALL {
        out.push_str(&format!(
            "<path id=\"{prefix}{}\" fill=\"{}\" d=\"{}\"/>",
            base.letter(),
            glyph_color(base),
            glyph_path(base)
        ));
    }
    out.push_str("</defs></svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every absolute coordinate pair of a path made of M, L, H, V, A and Z commands.
    fn points(d: &str) -> Vec<(f64, f64)> {
        let mut tokens = Vec::new();
        let mut cur = String::new();
        for ch in d.chars() {
            if ch.is_ascii_alphabetic() {
                if !cur.is_empty() {
                    tokens.push(cur.clone());
                    cur.clear();
                }
                tokens.push(ch.to_string());
            } else if ch == ' ' || ch == ',' {
                if !cur.is_empty() {
                    tokens.push(cur.clone());
                    cur.clear();
                }
            } else if ch == '.' && cur.contains('.') {
                tokens.push(cur.clone());
                cur = ".".into();
            } else {
                cur.push(ch);
            }
        }
        if !cur.is_empty() {
            tokens.push(cur);
        }
        let mut pts = Vec::new();
        let (mut x, mut y) = (0.0, 0.0);
        let mut i = 0;
        let num = |s: &str| s.parse::<f64>().unwrap();
        while i < tokens.len() {
            match tokens[i].as_str() {
                "M" | "L" => {
                    x = num(&tokens[i + 1]);
                    y = num(&tokens[i + 2]);
                    i += 3;
                }
                "H" => {
                    x = num(&tokens[i + 1]);
                    i += 2;
                }
                "V" => {
                    y = num(&tokens[i + 1]);
                    i += 2;
                }
                "A" => {
                    x = num(&tokens[i + 6]);
                    y = num(&tokens[i + 7]);
                    i += 8;
                }
                "Z" => {
                    i += 1;
                    continue;
                }
                t => panic!("unexpected token {t}"),
            }
            pts.push((x, y));
        }
        pts
    }

    #[test]
    fn outlines_stay_in_the_unit_box_and_span_it() {
        for base in Base::ALL {
            let pts = points(glyph_path(base));
            assert!(pts.len() >= 4, "{base}");
            for &(x, y) in &pts {
                assert!(
                    (0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y),
                    "{base} {x} {y}"
                );
            }
            let min_y = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let max_y = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
            // C and G reach y = 0 and 1 on their arcs, not at a vertex: the arc through the
            // left side has radius 0.5 about (0.5, 0.5).
            if matches!(base, Base::A | Base::T) {
                assert_eq!((min_y, max_y), (0.0, 1.0), "{base}");
            }
        }
    }

    #[test]
    fn arc_end_points_lie_on_their_circles() {
        // Outer radius 0.5 and inner radius 0.31 about the centre (0.5, 0.5), to the 3 decimals
        // the outlines are written with.
        for base in [Base::C, Base::G] {
            let d = glyph_path(base);
            let pts = points(d);
            for &(x, y) in &pts {
                let r = ((x - 0.5f64).powi(2) + (y - 0.5f64).powi(2)).sqrt();
                let on_outer = (r - 0.5).abs() < 2e-3;
                let on_inner = (r - 0.31).abs() < 2e-3;
                let on_bar = base == Base::G && (x - 0.55).abs() < 1e-9;
                assert!(on_outer || on_inner || on_bar, "{base}: ({x}, {y}) r = {r}");
            }
        }
    }

    #[test]
    fn a_counter_winds_against_the_body() {
        // Shoelace areas of the two sub-paths (all straight lines) have opposite signs, so the
        // nonzero rule leaves the counter unfilled.
        let area = |pts: &[(f64, f64)]| {
            let n = pts.len();
            (0..n)
                .map(|i| {
                    let (a, b) = (pts[i], pts[(i + 1) % n]);
                    a.0 * b.1 - b.0 * a.1
                })
                .sum::<f64>()
                / 2.0
        };
        let pts = points(A);
        let (body, counter) = pts.split_at(8);
        assert!(area(body) > 0.4);
        assert!(area(counter) < 0.0);
    }

    #[test]
    fn defs_define_four_ids() {
        let svg = glyph_defs_svg("g-");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let ids: Vec<_> = doc
            .descendants()
            .filter_map(|n| n.attribute("id"))
            .collect();
        assert_eq!(ids, ["g-A", "g-C", "g-G", "g-T"]);
    }
}
