//! Small numerical building blocks shared by the risk modules: moments, the
//! quantile convention, and normal / Student-t quantiles, densities and CDFs.
//!
//! Quantile convention (used by historical and Monte Carlo VaR): numpy's default
//! `np.quantile(x, p, method="linear")` (Hyndman & Fan type 7): position
//! `p·(n−1)` in the ascending order statistics, linear interpolation between the
//! two neighbours, with numpy's exact `lerp` formula so results agree bit for bit
//! on the same input order.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::function::erf::erfc;
use statrs::function::gamma::ln_gamma;

/// Arithmetic mean (0 for an empty slice; callers check lengths first).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance with `ddof` (1 = unbiased sample variance, as `np.var(ddof=1)`).
pub fn variance(xs: &[f64], ddof: usize) -> f64 {
    let n = xs.len();
    if n <= ddof {
        return f64::NAN;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - ddof) as f64
}

/// Population skewness and excess kurtosis (`scipy.stats.skew(bias=True)`,
/// `scipy.stats.kurtosis(fisher=True, bias=True)`).
pub fn skew_excess_kurtosis(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    let n = xs.len() as f64;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &x in xs {
        let d = x - m;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    (m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0)
}

/// numpy's `_lerp`: `a + (b−a)·t`, computed from the nearer end for t ≥ 0.5.
#[inline]
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// Lower tail of a sample: the `p`-quantile (type 7, see module doc) and the
/// mean of all values `<= quantile` (the expected-shortfall tail average).
///
/// Reorders `xs` in place (partial selection, O(n)); `xs` must be non-empty
/// and finite, `p` in [0, 1].
pub fn lower_tail_quantile_and_mean(xs: &mut [f64], p: f64) -> (f64, f64) {
    let n = xs.len();
    debug_assert!(n > 0);
    let pos = p * (n - 1) as f64;
    let lo = (pos.floor() as usize).min(n - 1);
    let frac = pos - lo as f64;
    let (below, x_lo, above) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    let x_lo = *x_lo;
    let x_hi = above.iter().copied().fold(f64::INFINITY, f64::min);
    let q = if lo + 1 < n {
        lerp(x_lo, x_hi, frac)
    } else {
        x_lo
    };
    // every element of `below` and x_lo itself are <= x_lo <= q; elements
    // of `above` are >= x_lo and can still equal q (ties, or frac = 0 with ties)
    let mut sum = x_lo + below.iter().sum::<f64>();
    let mut count = below.len() + 1;
    for &x in above.iter() {
        if x <= q {
            sum += x;
            count += 1;
        }
    }
    (q, sum / count as f64)
}

/// Standard normal CDF (via statrs' `erfc`; absolute accuracy ~1e−12).
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal density.
#[inline]
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal quantile, `p` in (0, 1) (statrs' rational approximation,
/// agrees with `scipy.stats.norm.ppf` to the last digit on the confidences we
/// use; no Newton polish because statrs' `erfc`, hence [`norm_cdf`], is only
/// accurate to ~1e−12 and would make it worse).
pub fn norm_ppf(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Log-density of the standard Student-t with `df` degrees of freedom.
#[inline]
pub fn t_ln_pdf_std(x: f64, df: f64) -> f64 {
    t_ln_norm_const(df) - 0.5 * (df + 1.0) * (x * x / df).ln_1p()
}

/// `ln Γ((ν+1)/2) − ln Γ(ν/2) − ½ ln(νπ)`, the log normalising constant.
#[inline]
pub fn t_ln_norm_const(df: f64) -> f64 {
    ln_gamma(0.5 * (df + 1.0)) - ln_gamma(0.5 * df) - 0.5 * (df * std::f64::consts::PI).ln()
}

/// Density of the standard Student-t.
pub fn t_pdf_std(x: f64, df: f64) -> f64 {
    t_ln_pdf_std(x, df).exp()
}

/// CDF of the standard Student-t.
pub fn t_cdf_std(x: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.cdf(x),
        Err(_) => f64::NAN,
    }
}

/// Quantile of the standard Student-t, `p` in (0, 1): statrs' inverse (via the
/// inverse regularised beta) polished by Newton steps on the CDF, because the
/// inverse-beta starting value is only accurate to ~1e-9.
pub fn t_ppf_std(p: f64, df: f64) -> f64 {
    let Ok(d) = StudentsT::new(0.0, 1.0, df) else {
        return f64::NAN;
    };
    let mut x = d.inverse_cdf(p);
    for _ in 0..3 {
        if !x.is_finite() {
            break;
        }
        let e = d.cdf(x) - p;
        let f = t_pdf_std(x, df);
        if f <= 0.0 {
            break;
        }
        let step = e / f;
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy_examples() {
        // np.quantile([3,1,2,5,4], 0.1) == 1.4 ; tail mean of values <= 1.4 is 1
        let mut xs = vec![3.0, 1.0, 2.0, 5.0, 4.0];
        let (q, m) = lower_tail_quantile_and_mean(&mut xs, 0.1);
        assert!((q - 1.4).abs() < 1e-15);
        assert_eq!(m, 1.0);
        let mut xs = vec![3.0, 1.0, 2.0, 5.0, 4.0];
        let (q, m) = lower_tail_quantile_and_mean(&mut xs, 0.5);
        assert_eq!(q, 3.0);
        assert_eq!(m, 2.0);
        let mut xs = vec![7.0];
        assert_eq!(lower_tail_quantile_and_mean(&mut xs, 0.01), (7.0, 7.0));
    }

    #[test]
    fn quantiles_invert_cdfs() {
        for &p in &[0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999] {
            assert!((norm_cdf(norm_ppf(p)) - p).abs() < 1e-10 * p.min(1.0 - p).max(1e-3));
            for &df in &[1.5, 2.5, 4.0, 30.0] {
                let x = t_ppf_std(p, df);
                assert!((t_cdf_std(x, df) - p).abs() < 1e-14, "p={p} df={df}");
            }
        }
        // scipy.stats.norm.ppf(0.99)
        let z = norm_ppf(0.99);
        assert!((z - 2.3263478740408408).abs() < 1e-15, "{z}");
        // scipy.stats.norm.ppf(0.001)
        assert!((norm_ppf(0.001) + 3.090232306167813).abs() < 1e-14);
        // scipy.stats.t.ppf(0.99, 4)
        assert!((t_ppf_std(0.99, 4.0) - 3.746947387979196).abs() < 1e-13);
    }
}
