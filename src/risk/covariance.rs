//! Covariance and correlation matrices of daily returns, and their repair.
//!
//! * sample covariance over the supplied window, ddof = 1 (`np.cov`)
//! * EWMA covariance, zero mean, weights as in [`super::volatility`]
//! * correlation `C_ij = Σ_ij / sqrt(Σ_ii Σ_jj)`; guaranteed symmetric,
//!   unit-diagonal and PSD: if the smallest eigenvalue is below `−1e−12`
//!   (e.g. from a covariance assembled from different windows), Higham's
//!   (2002) alternating projections with Dykstra's correction find the
//!   nearest correlation matrix, followed by a final eigenvalue clip at 0 and
//!   unit-diagonal rescale so the result is PSD to rounding.
//! * [`factor`] gives `A` with `A·Aᵀ = Σ` for correlated simulation:
//!   Cholesky when Σ is positive definite, otherwise the symmetric square
//!   root from the eigen-decomposition with negative eigenvalues clipped
//!   (a rank-deficient Σ, e.g. more assets than observations, is legitimate).

use nalgebra::{DMatrix, SymmetricEigen};

use super::error::{RiskError, RiskResult};
use super::returns::ReturnsMatrix;
use super::volatility::{check_lambda, ewma_weights_oldest_first};

/// Eigenvalues below `-PSD_TOL` count as a PSD violation needing repair.
pub const PSD_TOL: f64 = 1e-12;

/// Sample covariance (ddof = 1) of all observations in `r`.
pub fn sample_covariance(r: &ReturnsMatrix) -> RiskResult<DMatrix<f64>> {
    let (t, n) = (r.n_obs(), r.n_assets());
    if t < 2 {
        return Err(RiskError::ShortHistory {
            what: "sample covariance".into(),
            got: t,
            need: 2,
        });
    }
    let mut mean = vec![0.0; n];
    for k in 0..t {
        for (m, x) in mean.iter_mut().zip(r.row(k)) {
            *m += x;
        }
    }
    mean.iter_mut().for_each(|m| *m /= t as f64);
    let mut cov = DMatrix::<f64>::zeros(n, n);
    let mut d = vec![0.0; n];
    for k in 0..t {
        for ((di, x), m) in d.iter_mut().zip(r.row(k)).zip(&mean) {
            *di = x - m;
        }
        // upper triangle only; mirrored below
        for j in 0..n {
            let dj = d[j];
            for i in 0..=j {
                cov[(i, j)] += d[i] * dj;
            }
        }
    }
    finish_symmetric(&mut cov, 1.0 / (t - 1) as f64);
    Ok(cov)
}

/// EWMA (zero-mean) covariance of all observations in `r`.
pub fn ewma_covariance(r: &ReturnsMatrix, lambda: f64) -> RiskResult<DMatrix<f64>> {
    check_lambda(lambda)?;
    let (t, n) = (r.n_obs(), r.n_assets());
    if t < 1 {
        return Err(RiskError::ShortHistory {
            what: "EWMA covariance".into(),
            got: t,
            need: 1,
        });
    }
    let w = ewma_weights_oldest_first(t, lambda);
    let mut cov = DMatrix::<f64>::zeros(n, n);
    for (k, wk) in w.iter().enumerate() {
        let row = r.row(k);
        for j in 0..n {
            let wj = wk * row[j];
            for i in 0..=j {
                cov[(i, j)] += row[i] * wj;
            }
        }
    }
    finish_symmetric(&mut cov, 1.0);
    Ok(cov)
}

fn finish_symmetric(cov: &mut DMatrix<f64>, scale: f64) {
    let n = cov.nrows();
    for j in 0..n {
        for i in 0..=j {
            let v = cov[(i, j)] * scale;
            cov[(i, j)] = v;
            cov[(j, i)] = v;
        }
    }
}

/// Correlation matrix from a covariance matrix, and whether it had to be
/// repaired to be PSD. `names` label zero-variance errors.
pub fn correlation_from_covariance(
    cov: &DMatrix<f64>,
    names: &[&str],
) -> RiskResult<(DMatrix<f64>, bool)> {
    let n = cov.nrows();
    let mut sd = vec![0.0; n];
    for i in 0..n {
        let v = cov[(i, i)];
        if !(v.is_finite() && v > 0.0) {
            return Err(RiskError::ZeroVariance {
                what: format!("asset {}", names.get(i).copied().unwrap_or("?")),
            });
        }
        sd[i] = v.sqrt();
    }
    let mut c = DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            1.0
        } else {
            0.5 * (cov[(i, j)] + cov[(j, i)]) / (sd[i] * sd[j])
        }
    });
    let repaired = min_eigenvalue(&c) < -PSD_TOL;
    if repaired {
        c = nearest_correlation(&c, 1e-12, 500);
    }
    Ok((c, repaired))
}

/// Smallest eigenvalue of a symmetric matrix.
pub fn min_eigenvalue(a: &DMatrix<f64>) -> f64 {
    SymmetricEigen::new(a.clone())
        .eigenvalues
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
}

/// Projection onto the PSD cone: eigenvalues clipped at `floor`.
fn psd_projection(a: &DMatrix<f64>, floor: f64) -> DMatrix<f64> {
    let eig = SymmetricEigen::new(a.clone());
    let lam = eig.eigenvalues.map(|l| l.max(floor));
    let v = &eig.eigenvectors;
    let mut out = v * DMatrix::from_diagonal(&lam) * v.transpose();
    symmetrize(&mut out);
    out
}

fn symmetrize(a: &mut DMatrix<f64>) {
    let n = a.nrows();
    for j in 0..n {
        for i in 0..j {
            let v = 0.5 * (a[(i, j)] + a[(j, i)]);
            a[(i, j)] = v;
            a[(j, i)] = v;
        }
    }
}

/// Nearest correlation matrix in Frobenius norm (Higham 2002, alternating
/// projections with Dykstra's correction), then made exactly unit-diagonal
/// and PSD by a final eigenvalue clip and diagonal rescale.
pub fn nearest_correlation(a: &DMatrix<f64>, tol: f64, max_iter: usize) -> DMatrix<f64> {
    let n = a.nrows();
    let mut y = a.clone();
    symmetrize(&mut y);
    let mut ds = DMatrix::<f64>::zeros(n, n);
    for _ in 0..max_iter {
        let r = &y - &ds;
        let x = psd_projection(&r, 0.0);
        ds = &x - &r;
        let mut y_new = x.clone();
        for i in 0..n {
            y_new[(i, i)] = 1.0;
        }
        let diff = (&y_new - &x).norm() / y_new.norm().max(1e-300);
        y = y_new;
        if diff < tol {
            break;
        }
    }
    // final guarantee: PSD (clip) then unit diagonal (congruence keeps PSD)
    let x = psd_projection(&y, 0.0);
    let d: Vec<f64> = (0..n).map(|i| x[(i, i)].max(1e-300).sqrt()).collect();
    let mut c = DMatrix::from_fn(n, n, |i, j| x[(i, j)] / (d[i] * d[j]));
    for i in 0..n {
        c[(i, i)] = 1.0;
    }
    symmetrize(&mut c);
    c
}

/// A factor `A` with `A·Aᵀ = Σ` (see module doc). Lower triangular when the
/// Cholesky succeeds.
pub fn factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if let Some(ch) = cov.clone().cholesky() {
        return ch.l();
    }
    let eig = SymmetricEigen::new(cov.clone());
    let sq = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&sq)
}

/// Row-major `Vec<Vec<f64>>` copy for serialisation.
pub fn to_rows(a: &DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|j| a[(i, j)]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_invalid_correlation() {
        // Higham's example: not PSD
        let a = DMatrix::from_row_slice(3, 3, &[1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
        assert!(min_eigenvalue(&a) < 0.0);
        let c = nearest_correlation(&a, 1e-12, 1000);
        assert!(min_eigenvalue(&c) > -1e-12);
        for i in 0..3 {
            assert_eq!(c[(i, i)], 1.0);
        }
        // Higham 2002 reports the nearest correlation matrix with off-diagonals
        // 0.7607, 0.1573, 0.7607
        assert!((c[(0, 1)] - 0.7607).abs() < 1e-3, "{c}");
        assert!((c[(0, 2)] - 0.1573).abs() < 1e-3, "{c}");
    }

    #[test]
    fn factor_of_singular_matrix() {
        let s = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let a = factor(&s);
        assert!((&a * a.transpose() - &s).norm() < 1e-12);
    }
}
