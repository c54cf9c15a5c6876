//! Derivative-free minimiser (Nelder–Mead) used for the maximum-likelihood
//! fits (GARCH(1,1), Student-t). Parameters are reparametrised by the callers
//! so the search is unconstrained; non-finite objective values are treated as
//! +∞ so the simplex simply backs away from invalid regions.

/// Result of a minimisation.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub evaluations: usize,
    pub converged: bool,
}

/// Tolerances for [`nelder_mead`].
#[derive(Debug, Clone, Copy)]
pub struct NmOptions {
    /// Stop when the spread of objective values over the simplex is below
    /// `f_tol_abs + f_tol_rel·|f_best|` …
    pub f_tol_rel: f64,
    pub f_tol_abs: f64,
    /// … and every vertex lies within `x_tol` of the best one (max-norm).
    pub x_tol: f64,
    pub max_evaluations: usize,
    /// Restart from the best point with a fresh simplex until a restart no
    /// longer improves the objective (guards against simplex collapse).
    pub max_restarts: usize,
}

impl Default for NmOptions {
    fn default() -> Self {
        NmOptions {
            f_tol_rel: 1e-13,
            f_tol_abs: 1e-13,
            x_tol: 1e-9,
            max_evaluations: 20_000,
            max_restarts: 4,
        }
    }
}

fn eval<F: FnMut(&[f64]) -> f64>(f: &mut F, x: &[f64], n_eval: &mut usize) -> f64 {
    *n_eval += 1;
    let v = f(x);
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

/// Minimise `f` from `x0` with initial simplex steps `step` (one per
/// coordinate). Standard coefficients (reflection 1, expansion 2,
/// contraction ½, shrink ½).
pub fn nelder_mead<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x0: &[f64],
    step: &[f64],
    opts: NmOptions,
) -> Minimum {
    let mut n_eval = 0usize;
    let mut best_x = x0.to_vec();
    let mut best_f = eval(&mut f, x0, &mut n_eval);
    let mut converged = false;
    for restart in 0..=opts.max_restarts {
        let before = best_f;
        let (x, fx, conv) = nm_run(&mut f, &best_x, step, opts, &mut n_eval);
        if fx <= best_f {
            best_x = x;
            best_f = fx;
        }
        converged = conv;
        let improved = before - best_f;
        if restart > 0 && improved <= opts.f_tol_abs + opts.f_tol_rel * best_f.abs() {
            break;
        }
        if n_eval >= opts.max_evaluations {
            break;
        }
    }
    Minimum {
        x: best_x,
        f: best_f,
        evaluations: n_eval,
        converged,
    }
}

fn nm_run<F: FnMut(&[f64]) -> f64>(
    f: &mut F,
    x0: &[f64],
    step: &[f64],
    opts: NmOptions,
    n_eval: &mut usize,
) -> (Vec<f64>, f64, bool) {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    let mut vals: Vec<f64> = Vec::with_capacity(n + 1);
    pts.push(x0.to_vec());
    vals.push(eval(f, x0, n_eval));
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step[i];
        vals.push(eval(f, &p, n_eval));
        pts.push(p);
    }
    let mut centroid = vec![0.0; n];
    let mut xr = vec![0.0; n];
    let mut xe = vec![0.0; n];
    let mut xc = vec![0.0; n];
    let mut order: Vec<usize> = (0..=n).collect();
    loop {
        order.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        let (ib, iw, isw) = (order[0], order[n], order[n - 1]);
        let fb = vals[ib];
        let spread = vals[iw] - fb;
        let diam = pts
            .iter()
            .flat_map(|p| p.iter().zip(&pts[ib]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread.is_finite()
            && spread <= opts.f_tol_abs + opts.f_tol_rel * fb.abs()
            && diam <= opts.x_tol
        {
            return (pts[ib].clone(), fb, true);
        }
        if *n_eval >= opts.max_evaluations {
            return (pts[ib].clone(), fb, false);
        }
        centroid.iter_mut().for_each(|c| *c = 0.0);
        for &k in order.iter().take(n) {
            for (c, v) in centroid.iter_mut().zip(&pts[k]) {
                *c += v / n as f64;
            }
        }
        for j in 0..n {
            xr[j] = centroid[j] + (centroid[j] - pts[iw][j]);
        }
        let fr = eval(f, &xr, n_eval);
        if fr < fb {
            for j in 0..n {
                xe[j] = centroid[j] + 2.0 * (centroid[j] - pts[iw][j]);
            }
            let fe = eval(f, &xe, n_eval);
            if fe < fr {
                pts[iw].copy_from_slice(&xe);
                vals[iw] = fe;
            } else {
                pts[iw].copy_from_slice(&xr);
                vals[iw] = fr;
            }
            continue;
        }
        if fr < vals[isw] {
            pts[iw].copy_from_slice(&xr);
            vals[iw] = fr;
            continue;
        }
        // contraction: outside if the reflection beat the worst, else inside
        let outside = fr < vals[iw];
        for j in 0..n {
            xc[j] = if outside {
                centroid[j] + 0.5 * (xr[j] - centroid[j])
            } else {
                centroid[j] + 0.5 * (pts[iw][j] - centroid[j])
            };
        }
        let fc = eval(f, &xc, n_eval);
        if fc < if outside { fr } else { vals[iw] } {
            pts[iw].copy_from_slice(&xc);
            vals[iw] = fc;
            continue;
        }
        // shrink towards the best vertex
        let best = pts[ib].clone();
        for k in 0..=n {
            if k == ib {
                continue;
            }
            for j in 0..n {
                pts[k][j] = best[j] + 0.5 * (pts[k][j] - best[j]);
            }
            vals[k] = eval(f, &pts[k], n_eval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosenbrock() {
        let m = nelder_mead(
            |x| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2),
            &[-1.2, 1.0],
            &[0.5, 0.5],
            NmOptions::default(),
        );
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }
}

/// Options for [`bfgs`].
#[derive(Debug, Clone, Copy)]
pub struct BfgsOptions {
    /// Stop when an iteration improves f by less than `f_tol_rel·|f|` and the
    /// gradient max-norm is below `g_tol`.
    pub f_tol_rel: f64,
    pub g_tol: f64,
    pub max_iter: usize,
}

impl Default for BfgsOptions {
    fn default() -> Self {
        BfgsOptions {
            f_tol_rel: 1e-14,
            g_tol: 1e-7,
            max_iter: 200,
        }
    }
}

/// Quasi-Newton (BFGS, inverse-Hessian update, backtracking Armijo line
/// search) minimiser for smooth objectives with an analytic gradient.
/// `fg(x, grad)` returns f(x) and writes ∇f(x); non-finite values are
/// rejected by the line search. Small fixed dimension: dense n×n update.
pub fn bfgs<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut fg: F,
    x0: &[f64],
    opts: BfgsOptions,
) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut evals = 1;
    if !f.is_finite() {
        return Minimum {
            x,
            f: f64::INFINITY,
            evaluations: evals,
            converged: false,
        };
    }
    // inverse Hessian approximation, start at identity
    let mut hinv = vec![0.0; n * n];
    for i in 0..n {
        hinv[i * n + i] = 1.0;
    }
    let (mut d, mut xn, mut gn, mut s, mut y, mut hy) = (
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
        vec![0.0; n],
    );
    let mut converged = false;
    let mut stalled = 0usize;
    for _ in 0..opts.max_iter {
        for i in 0..n {
            d[i] = -(0..n).map(|j| hinv[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // not a descent direction: reset to steepest descent
            for i in 0..n {
                for j in 0..n {
                    hinv[i * n + j] = if i == j { 1.0 } else { 0.0 };
                }
                d[i] = -g[i];
            }
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let mut step = 1.0;
        let mut fn_ = f64::INFINITY;
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            fn_ = fg(&xn, &mut gn);
            evals += 1;
            if fn_.is_finite() && fn_ <= f + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // no decrease possible along d: at the optimum to working precision
            converged = g.iter().all(|v| v.abs() <= opts.g_tol.sqrt());
            break;
        }
        for i in 0..n {
            s[i] = xn[i] - x[i];
            y[i] = gn[i] - g[i];
        }
        let improvement = f - fn_;
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        f = fn_;
        if improvement <= opts.f_tol_rel * f.abs() {
            // at the optimum to working precision: rounding noise can keep
            // the Armijo test passing with no real progress, so stop after a
            // few stalled iterations even if the gradient test is not met
            stalled += 1;
            if g.iter().all(|v| v.abs() <= opts.g_tol) || stalled >= 3 {
                converged = true;
                break;
            }
        } else {
            stalled = 0;
        }
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        if sy > 1e-300 {
            for i in 0..n {
                hy[i] = (0..n).map(|j| hinv[i * n + j] * y[j]).sum();
            }
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            let rho = 1.0 / sy;
            for i in 0..n {
                for j in 0..n {
                    hinv[i * n + j] +=
                        rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
                }
            }
        }
    }
    Minimum {
        x,
        f,
        evaluations: evals,
        converged,
    }
}
