//! One request, once the server (`server.rs`) has read it: classify → check
//! and reserve → forward (or paper fill) → learn → answer. Every refusal is rendered by the venue in
//! its own error shape; nothing in doubt is forwarded.

use std::sync::Arc;
use std::time::Instant;

use super::server::{split_target, Answer, Request};
use super::upstream::{InProcessVenue, Pool, UpstreamAnswer, UpstreamError};
use super::Shared;
use crate::config::Mode;
use crate::rules::{RejectReason, Rejection};
use crate::state::{Account, Submitted};
use crate::telemetry;
use crate::venue::{Action, RequestView, SyntheticResponse, Venue};

pub const DECISION_HEADER: &str = "x-riskgate-decision";
pub const RULE_HEADER: &str = "x-riskgate-rule";

/// Where a venue's forwarded requests go.
pub enum Forward {
    Paper(Arc<dyn InProcessVenue>),
    Upstream(Pool),
}

/// One venue as one worker sees it.
pub struct WorkerVenue {
    pub name: &'static str,
    /// The venue as state keys it (name and exchange).
    pub tag: crate::state::VenueTag,
    pub venue: Arc<dyn Venue>,
    pub forward: Forward,
    pub shared: Arc<Shared>,
    pub metrics: telemetry::VenueMetrics,
}

/// riskgate's refusal as the venue rendered it.
fn refusal(rendered: SyntheticResponse, rejection: &Rejection) -> Answer {
    Answer {
        status: rendered.status,
        headers: None,
        body: rendered.body,
        decision: "reject",
        rule: Some(rejection.reason.id()),
    }
}

impl WorkerVenue {
    pub(crate) fn reject(&self, rejection: &Rejection) -> Answer {
        refusal(self.venue.render_rejection(rejection), rejection)
    }

    fn reject_batch(
        &self,
        orders: &[crate::model::NewOrder],
        refused: usize,
        rejection: &Rejection,
    ) -> Answer {
        let rendered = self
            .venue
            .render_batch_rejection(orders, refused, rejection);
        refusal(rendered, rejection)
    }

    /// Handles one request, its target being `target` (the request's own, or
    /// the one a proxy URL names). Never fails: every error becomes a
    /// venue-format answer. The body has been read (and bounded) by the server.
    pub async fn handle(&self, req: &Request, target: &str) -> Answer {
        if self.shared.is_shutting_down() && req.method != http::Method::GET {
            return self.reject(&Rejection::new(
                RejectReason::ShuttingDown,
                "riskgate is shutting down; not accepting new orders",
            ));
        }
        let (path, query) = split_target(target);
        let view = RequestView {
            method: &req.method,
            path,
            query,
            headers: &req.headers,
            body: &req.body,
        };
        let classified = match self.venue.classify(&view) {
            Ok(c) => c,
            Err(rejection) => {
                self.metrics.request("refused");
                if matches!(rejection.reason, RejectReason::MalformedRequest)
                    && path.ends_with("/order")
                {
                    telemetry::order_decision(
                        self.name,
                        "unknown",
                        "reject",
                        rejection.reason.id(),
                    );
                }
                return self.reject(&rejection);
            }
        };
        let engine = &self.shared.engine;
        let account: Option<Arc<Account>> = classified
            .api_key
            .as_deref()
            .and_then(|k| engine.account_for_key(k).ok());

        let mut submitted: Option<Submitted> = None;
        // Reservations of a batch's orders, in request order.
        let mut batch_reservations: Vec<Option<u64>> = Vec::new();
        let mut shadow_rule: Option<&'static str> = None;
        match &classified.action {
            Action::NewOrders(orders) => {
                self.metrics.request("order");
                let Some(key) = classified.api_key.as_deref() else {
                    let r = Rejection::new(
                        RejectReason::MissingApiKey,
                        "order without an API key header",
                    );
                    telemetry::order_decision(self.name, "unknown", "reject", r.reason.id());
                    return self.reject_batch(orders, 0, &r);
                };
                let account = match &account {
                    Some(a) => a.clone(),
                    None => match engine.account_for_key(key) {
                        Ok(a) => a,
                        Err(r) => return self.reject_batch(orders, 0, &r),
                    },
                };
                let started = Instant::now();
                let decision = engine.submit_batch(&account, &self.tag, orders);
                self.metrics.check_duration(started.elapsed().as_secs_f64());
                match decision {
                    Ok(s) => {
                        for _ in 0..s.len() {
                            account.count_accepted(self.name);
                        }
                        batch_reservations = s.iter().map(|s| s.reservation).collect();
                    }
                    Err((_, rejection)) if self.shared.mode == Mode::Shadow => {
                        telemetry::order_decision(
                            self.name,
                            &account.label,
                            "would_reject",
                            rejection.reason.id(),
                        );
                        telemetry::shadow_would_reject(self.name, rejection.reason.id());
                        tracing::warn!(venue = self.name, account = %account.label, rule = rejection.reason.id(), reason = %rejection.message, "shadow mode: forwarding a batch the rules refuse");
                        shadow_rule = Some(rejection.reason.id());
                    }
                    Err((refused, rejection)) => {
                        telemetry::order_decision(
                            self.name,
                            &account.label,
                            "reject",
                            rejection.reason.id(),
                        );
                        tracing::info!(venue = self.name, account = %account.label, rule = rejection.reason.id(), reason = %rejection.message, refused, "batch refused");
                        return self.reject_batch(orders, refused, &rejection);
                    }
                }
            }
            action @ (Action::NewOrder(_) | Action::Amend(_) | Action::AmendRef(_)) => {
                self.metrics.request("order");
                let Some(key) = classified.api_key.as_deref() else {
                    let r = Rejection::new(
                        RejectReason::MissingApiKey,
                        "order without an API key header",
                    );
                    telemetry::order_decision(self.name, "unknown", "reject", r.reason.id());
                    return self.reject(&r);
                };
                let account = match &account {
                    Some(a) => a.clone(),
                    None => match engine.account_for_key(key) {
                        Ok(a) => a,
                        Err(r) => return self.reject(&r),
                    },
                };
                let started = Instant::now();
                let decision = match action {
                    // An amend naming only the order: the engine resolves it.
                    Action::AmendRef(req) => engine.submit_amend(&account, &self.tag, req),
                    Action::NewOrder(order) | Action::Amend(order) => {
                        engine.submit(&account, &self.tag, order)
                    }
                    // The arm's pattern admits no other action.
                    _ => Err(Rejection::new(RejectReason::Internal, "unexpected action")),
                };
                self.metrics.check_duration(started.elapsed().as_secs_f64());
                match decision {
                    Ok(s) => {
                        account.count_accepted(self.name);
                        submitted = Some(s);
                    }
                    Err(rejection) if self.shared.mode == Mode::Shadow => {
                        telemetry::order_decision(
                            self.name,
                            &account.label,
                            "would_reject",
                            rejection.reason.id(),
                        );
                        telemetry::shadow_would_reject(self.name, rejection.reason.id());
                        tracing::warn!(venue = self.name, account = %account.label, rule = rejection.reason.id(), reason = %rejection.message, "shadow mode: forwarding an order the rules refuse");
                        shadow_rule = Some(rejection.reason.id());
                    }
                    Err(rejection) => {
                        telemetry::order_decision(
                            self.name,
                            &account.label,
                            "reject",
                            rejection.reason.id(),
                        );
                        tracing::info!(venue = self.name, account = %account.label, rule = rejection.reason.id(), reason = %rejection.message, "order refused");
                        return self.reject(&rejection);
                    }
                }
            }
            Action::Cancel { .. } | Action::CancelAll { .. } | Action::CancelBatch => {
                self.metrics.request("cancel")
            }
            Action::Observe(_) => self.metrics.request("read"),
            Action::Pass => self.metrics.request("pass"),
        }
        let reservation = submitted.and_then(|s| s.reservation);

        let started_ms = engine.now_ms();
        let started = Instant::now();
        let answer: Result<UpstreamAnswer, UpstreamError> = match &self.forward {
            Forward::Paper(paper) => {
                let r = paper.handle(&view);
                Ok(UpstreamAnswer {
                    status: http::StatusCode::from_u16(r.status)
                        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
                    headers: None,
                    body: r.body,
                })
            }
            Forward::Upstream(pool) => {
                pool.send(&req.method, target, &req.headers, &req.body)
                    .await
            }
        };
        self.metrics
            .upstream_duration(started.elapsed().as_secs_f64());

        match answer {
            Ok(a) => {
                if !matches!(classified.action, Action::Pass) {
                    let learned = self
                        .venue
                        .learn(&classified.action, a.status.as_u16(), &a.body);
                    match (&classified.action, account.as_deref()) {
                        (Action::NewOrders(_), Some(acc)) => engine.learn_batch(
                            &self.tag,
                            acc,
                            &batch_reservations,
                            &learned,
                            started_ms,
                        ),
                        _ => engine.learn(
                            &self.tag,
                            account.as_deref(),
                            &classified.action,
                            reservation,
                            &learned,
                            started_ms,
                        ),
                    }
                }
                let decision = match (&classified.action, shadow_rule) {
                    (
                        Action::NewOrder(_)
                        | Action::NewOrders(_)
                        | Action::Amend(_)
                        | Action::AmendRef(_),
                        Some(_),
                    ) => "would_reject",
                    (
                        Action::NewOrder(_)
                        | Action::NewOrders(_)
                        | Action::Amend(_)
                        | Action::AmendRef(_),
                        None,
                    ) => "accept",
                    _ => "pass",
                };
                // An upstream answer's end-to-end fields go back as they came
                // (filtered when its head was parsed); the paper venue's have none.
                Answer {
                    status: a.status.as_u16(),
                    headers: a.headers,
                    body: a.body,
                    decision,
                    rule: shadow_rule,
                }
            }
            Err(e) => {
                let sent = matches!(e, UpstreamError::StatusUnknown(_));
                telemetry::upstream_error(
                    self.name,
                    if sent { "status_unknown" } else { "not_sent" },
                );
                tracing::warn!(venue = self.name, error = %e, "upstream failed");
                if let Some(account) = &account {
                    for res in reservation
                        .into_iter()
                        .chain(batch_reservations.iter().flatten().copied())
                    {
                        engine.upstream_failed(account, res, sent);
                    }
                }
                let reason = if sent {
                    RejectReason::UpstreamStatusUnknown
                } else {
                    RejectReason::UpstreamUnavailable
                };
                self.reject(&Rejection::new(reason, e.to_string()))
            }
        }
    }
}
