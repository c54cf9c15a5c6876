//! Property tests of `riskgate::risk` (proptest, bounded case counts so the
//! file runs in a few seconds in debug):
//! * Euler components sum to total parametric VaR
//! * correlation matrices are symmetric PSD with unit diagonal, including
//!   repaired (nearest-correlation) ones
//! * VaR and ES are monotone in confidence, ES ≥ VaR
//! * scaling every exposure by k > 0 scales VaR and ES by k
//! * the incremental estimate agrees with the exact recompute to first order

use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;
use riskgate::risk::covariance::{
    correlation_from_covariance, min_eigenvalue, nearest_correlation, sample_covariance,
};
use riskgate::risk::montecarlo::{var_es_from_simulation, MonteCarloModel, Shocks};
use riskgate::risk::returns::ReturnsMatrix;
use riskgate::risk::stats::skew_excess_kurtosis;
use riskgate::risk::student_t::fit_student_t_fixed_loc;
use riskgate::risk::{attribution, var, IncrementalVar};

/// Correlated, fat-tailed returns from a seed: one common factor plus noise,
/// scaled by a random t-like mixing per day.
fn returns(seed: u64, n_assets: usize, n_obs: usize) -> ReturnsMatrix {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let vols: Vec<f64> = (0..n_assets)
        .map(|_| rng.random_range(0.01..0.08))
        .collect();
    let loads: Vec<f64> = (0..n_assets)
        .map(|_| rng.random_range(-0.3..0.95))
        .collect();
    let mut cols = vec![Vec::with_capacity(n_obs); n_assets];
    for _ in 0..n_obs {
        let f: f64 = rng.sample(StandardNormal);
        let mix = if rng.random_bool(0.1) { 3.0 } else { 1.0 };
        for i in 0..n_assets {
            let e: f64 = rng.sample(StandardNormal);
            let z = loads[i] * f + (1.0 - loads[i] * loads[i]).max(0.0).sqrt() * e;
            cols[i].push(vols[i] * mix * z);
        }
    }
    ReturnsMatrix::from_columns(&cols).unwrap()
}

fn exposures(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xABCD);
    (0..n).map(|_| rng.random_range(-2.0e6..5.0e6)).collect()
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("A{i}")).collect()
}

fn assert_correlation(c: &DMatrix<f64>) {
    let n = c.nrows();
    for i in 0..n {
        assert_eq!(c[(i, i)], 1.0);
        for j in 0..n {
            assert_eq!(c[(i, j)], c[(j, i)]);
            assert!(c[(i, j)].abs() <= 1.0 + 1e-12);
        }
    }
    assert!(
        min_eigenvalue(c) >= -1e-10,
        "min eigenvalue {}",
        min_eigenvalue(c)
    );
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

proptest! {
    // A fixed seed: the same 48 cases every run, so CI is deterministic (a random
    // seed once found a slow case whose shrinking ran for over 10 minutes).
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_2026),
        failure_persistence: None,
        max_shrink_iters: 256,
        .. ProptestConfig::default()
    })]

    #[test]
    fn components_sum_to_total(seed in any::<u64>(), n in 2usize..10, t in 20usize..80,
                               c in prop::sample::select(vec![0.95, 0.99, 0.999]), h in 1usize..31) {
        let r = returns(seed, n, t);
        let cov = sample_covariance(&r).unwrap();
        let w = exposures(seed, n);
        let e = attribution::parametric_euler(&cov, &w, c, h).unwrap();
        let sum: f64 = e.component_var_usd.iter().sum();
        prop_assert!(rel_close(sum, e.var_usd, 1e-12), "{sum} vs {}", e.var_usd);
        let sigma = var::portfolio_sigma_usd(&cov, &w).unwrap();
        prop_assert!(rel_close(e.var_usd, var::normal_var_es(sigma, c, h).unwrap().var_usd, 1e-12));
    }

    #[test]
    fn correlation_is_psd_unit_diagonal(seed in any::<u64>(), n in 2usize..12, t in 3usize..40) {
        // t < n gives a singular covariance: still a valid correlation
        let r = returns(seed, n, t);
        let cov = sample_covariance(&r).unwrap();
        let nm = names(n);
        let refs: Vec<&str> = nm.iter().map(String::as_str).collect();
        let (c, _) = correlation_from_covariance(&cov, &refs).unwrap();
        assert_correlation(&c);
    }

    #[test]
    fn nearest_correlation_repairs_arbitrary_symmetric(seed in any::<u64>(), n in 2usize..9) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut a = DMatrix::<f64>::identity(n, n);
        for i in 0..n {
            for j in 0..i {
                let v = rng.random_range(-1.0..1.0);
                a[(i, j)] = v;
                a[(j, i)] = v;
            }
        }
        let c = nearest_correlation(&a, 1e-12, 500);
        assert_correlation(&c);
        // a valid correlation matrix is its own nearest correlation matrix
        let again = nearest_correlation(&c, 1e-12, 500);
        prop_assert!((&again - &c).norm() < 1e-8);
    }

    #[test]
    fn var_monotone_in_confidence(seed in any::<u64>(), n in 2usize..6, h in 1usize..11) {
        let r = returns(seed, n, 250);
        let w = exposures(seed, n);
        let cov = sample_covariance(&r.last(60).unwrap()).unwrap();
        let sigma = var::portfolio_sigma_usd(&cov, &w).unwrap();
        let pnl = r.portfolio_pnl(&w);
        let tfit = fit_student_t_fixed_loc(&pnl, 0.0).unwrap();
        let mc = MonteCarloModel::new(&cov, Shocks::StudentT { df: 4.0 }).unwrap();
        let mut sim = mc.simulate_pnl(&w, h, 2_000, seed).unwrap();
        let confs = [0.9, 0.95, 0.975, 0.99, 0.999];
        let mc_v = var_es_from_simulation(&mut sim, &confs).unwrap();
        let mut prev: Option<[var::VarEs; 4]> = None;
        for (k, &c) in confs.iter().enumerate() {
            let cur = [
                var::historical_var_es(&r, &w, c, h).unwrap(),
                var::normal_var_es(sigma, c, h).unwrap(),
                var::student_t_var_es(tfit.df.max(1.5), tfit.scale, c, h).unwrap(),
                mc_v[k],
            ];
            for v in &cur {
                prop_assert!(v.es_usd >= v.var_usd - 1e-9 * v.var_usd.abs(), "ES < VaR: {v:?}");
            }
            if let Some(p) = prev {
                for (a, b) in p.iter().zip(&cur) {
                    prop_assert!(b.var_usd >= a.var_usd - 1e-9 * a.var_usd.abs(), "VaR not monotone: {a:?} -> {b:?}");
                    prop_assert!(b.es_usd >= a.es_usd - 1e-9 * a.es_usd.abs(), "ES not monotone: {a:?} -> {b:?}");
                }
            }
            prev = Some(cur);
        }
    }

    #[test]
    fn var_scales_with_positions(seed in any::<u64>(), n in 2usize..6, k in 0.01f64..100.0,
                                 c in prop::sample::select(vec![0.95, 0.99, 0.999]), h in 1usize..11) {
        let r = returns(seed, n, 200);
        let w = exposures(seed, n);
        let wk: Vec<f64> = w.iter().map(|x| x * k).collect();
        let cov = sample_covariance(&r.last(60).unwrap()).unwrap();
        let s1 = var::portfolio_sigma_usd(&cov, &w).unwrap();
        let sk = var::portfolio_sigma_usd(&cov, &wk).unwrap();
        let pairs = [
            (var::historical_var_es(&r, &w, c, h).unwrap(), var::historical_var_es(&r, &wk, c, h).unwrap(), 1e-12),
            (var::normal_var_es(s1, c, h).unwrap(), var::normal_var_es(sk, c, h).unwrap(), 1e-12),
        ];
        let (s, kurt) = skew_excess_kurtosis(&r.portfolio_pnl(&w));
        let (s_k, kurt_k) = skew_excess_kurtosis(&r.portfolio_pnl(&wk));
        prop_assert!(rel_close(s, s_k, 1e-9) && rel_close(kurt, kurt_k, 1e-9));
        let cf = (var::cornish_fisher_var_es(s1, s, kurt, c, h).unwrap(), var::cornish_fisher_var_es(sk, s_k, kurt_k, c, h).unwrap(), 1e-9);
        // MLE is scale-equivariant; the fitted scale agrees to optimiser tolerance
        let t1 = fit_student_t_fixed_loc(&r.portfolio_pnl(&w), 0.0).unwrap();
        let tk = fit_student_t_fixed_loc(&r.portfolio_pnl(&wk), 0.0).unwrap();
        let tt = (var::student_t_var_es(t1.df.max(1.5), t1.scale, c, h).unwrap(), var::student_t_var_es(tk.df.max(1.5), tk.scale, c, h).unwrap(), 1e-5);
        let mc = MonteCarloModel::new(&cov, Shocks::Normal).unwrap();
        let mut p1 = mc.simulate_pnl(&w, h, 500, seed).unwrap();
        let mut pk = mc.simulate_pnl(&wk, h, 500, seed).unwrap();
        let m = (var_es_from_simulation(&mut p1, &[c]).unwrap()[0], var_es_from_simulation(&mut pk, &[c]).unwrap()[0], 1e-9);
        for (a, b, tol) in pairs.into_iter().chain([cf, tt, m]) {
            prop_assert!(rel_close(a.var_usd * k, b.var_usd, tol), "VaR {} * {k} vs {}", a.var_usd, b.var_usd);
            prop_assert!(rel_close(a.es_usd * k, b.es_usd, tol), "ES {} * {k} vs {}", a.es_usd, b.es_usd);
        }
    }

    #[test]
    fn incremental_estimate_is_first_order(seed in any::<u64>(), n in 2usize..12, eps in 1e-6f64..1e-3, sign in prop::bool::ANY) {
        let r = returns(seed, n, 80);
        let w = exposures(seed, n);
        let cov = sample_covariance(&r.last(60).unwrap()).unwrap();
        let inc = IncrementalVar::new(&names(n), &cov, &w, 0.99, 1).unwrap();
        let gross: f64 = w.iter().map(|x| x.abs()).sum();
        let delta = if sign { eps * gross } else { -eps * gross };
        let sigma = inc.variance_usd2.sqrt();
        for i in 0..n {
            let est = inc.estimate_var_usd(i, delta).unwrap();
            let exact = inc.exact_var_usd(i, delta).unwrap();
            // convexity: the linear estimate never exceeds the exact value …
            prop_assert!(exact >= est - 1e-9 * inc.var_usd);
            // … and the gap is second order: ≤ k Σ_ii Δ² / σ (with margin)
            let bound = 2.0 * inc.k * cov[(i, i)] * delta * delta / sigma + 1e-9 * inc.var_usd;
            prop_assert!(exact - est <= bound, "gap {} > bound {bound}", exact - est);
            // the exact O(1) formula equals a full recompute
            let mut w2 = w.clone();
            w2[i] += delta;
            let full = inc.k * var::portfolio_sigma_usd(&cov, &w2).unwrap();
            prop_assert!(rel_close(exact, full, 1e-9), "{exact} vs {full}");
        }
    }
}
