//! The closed list of reasons riskgate refuses a request, in precedence order.
//!
//! Codes are stable: dashboards, alerts and bots may match on them. Add new
//! reasons with new codes; never renumber. When several rules would refuse an
//! order, the one earliest in this list is reported.

/// Who caused a refusal. Drives logging level and the HTTP status class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The bot sent something riskgate will not forward, or an order a rule refuses.
    Bot,
    /// The exchange (upstream) failed or answered something unusable.
    Exchange,
    /// riskgate itself cannot decide safely (overload, missing data, internal error).
    Riskgate,
}

macro_rules! reasons {
    ($( $variant:ident = $code:literal, $id:literal, $fault:ident, $doc:literal; )*) => {
        /// Every reason riskgate refuses a request.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RejectReason {
            $( #[doc = $doc] $variant, )*
        }

        impl RejectReason {
            /// All reasons in precedence order.
            pub const ALL: &'static [RejectReason] = &[ $( RejectReason::$variant, )* ];

            /// Stable numeric code.
            pub fn code(self) -> u16 {
                match self { $( RejectReason::$variant => $code, )* }
            }

            /// Stable rule id, used in messages, the `X-Riskgate-Rule` header and metric labels.
            pub fn id(self) -> &'static str {
                match self { $( RejectReason::$variant => $id, )* }
            }

            pub fn fault(self) -> Fault {
                match self { $( RejectReason::$variant => Fault::$fault, )* }
            }

            pub fn description(self) -> &'static str {
                match self { $( RejectReason::$variant => $doc, )* }
            }

            pub fn from_id(id: &str) -> Option<RejectReason> {
                match id { $( $id => Some(RejectReason::$variant), )* _ => None }
            }
        }
    };
}

reasons! {
    // Requests riskgate cannot read or will not forward.
    BodyTooLarge = 100, "body_too_large", Bot, "request body over the configured limit";
    MalformedRequest = 101, "malformed_request", Bot, "request could not be parsed unambiguously";
    EndpointNotAllowed = 102, "endpoint_not_allowed", Bot, "mutating endpoint riskgate does not know, or that the config blocks";
    MissingApiKey = 103, "missing_api_key", Bot, "order without an API key";
    TooManyAccounts = 104, "too_many_accounts", Riskgate, "more distinct API keys than the configured maximum";
    UnknownOrder = 105, "unknown_order", Bot, "amend of an order that is not among the open orders riskgate tracks";
    // Trading state.
    TradingHalted = 200, "trading_halted", Bot, "trading is halted (kill switch)";
    SymbolNotAllowed = 201, "symbol_not_allowed", Bot, "symbol blocked or not on the allow list";
    CircuitBreakerOpen = 202, "circuit_breaker_open", Bot, "symbol paused after a large price move";
    ReduceOnly = 203, "reduce_only", Bot, "trading state is reduce-only and the order would not reduce a position";
    // Market data.
    MarketDataStale = 300, "market_data_stale", Riskgate, "no reference price, or one older than the configured age";
    PriceBand = 301, "price_band", Bot, "limit price too far from the reference price (fat finger)";
    // Exchange filters (`exchange_filters = true`): what the venue would refuse anyway.
    ExchangeFiltersUnknown = 302, "exchange_filters_unknown", Riskgate, "exchange filters are on but none are loaded for the order's instrument on its venue";
    ExchangeFilterQtyStep = 303, "exchange_filter_qty_step", Bot, "quantity not a multiple of the venue's lot step";
    ExchangeFilterQtyRange = 304, "exchange_filter_qty_range", Bot, "quantity below the venue's minimum or above its maximum";
    ExchangeFilterPriceTick = 305, "exchange_filter_price_tick", Bot, "limit price not a multiple of the venue's tick size";
    ExchangeFilterPriceRange = 306, "exchange_filter_price_range", Bot, "limit price below the venue's minimum or above its maximum";
    ExchangeFilterNotional = 307, "exchange_filter_notional", Bot, "order value below the venue's minimum notional or above its maximum";
    // Duplicates.
    DuplicateClientOrderId = 400, "duplicate_client_order_id", Bot, "client order id already used";
    DuplicateOrder = 401, "duplicate_order", Bot, "same order repeated within the duplicate window";
    // Size and exposure.
    MaxOrderQty = 500, "max_order_qty", Bot, "order quantity over the per-symbol limit";
    MaxOrderNotional = 501, "max_order_notional", Bot, "order notional over the limit";
    MaxPositionQty = 502, "max_position_qty", Bot, "worst-case position quantity over the limit";
    MaxPositionNotional = 503, "max_position_notional", Bot, "worst-case position notional over the limit";
    MaxPositionPct = 504, "max_position_pct", Bot, "worst-case position over the allowed share of capital";
    CapitalUnknown = 505, "capital_unknown", Riskgate, "account capital unknown, concentration cannot be checked";
    MaxExchangeExposure = 506, "max_exchange_exposure", Bot, "worst-case gross exposure held on one exchange over its share of capital";
    // Counts and rates.
    MaxOpenOrders = 600, "max_open_orders", Bot, "too many open orders";
    MaxDailyTrades = 601, "max_daily_trades", Bot, "daily accepted-order limit reached";
    // Portfolio risk (from the risk snapshot).
    PortfolioRiskUnavailable = 700, "portfolio_risk_unavailable", Riskgate, "risk snapshot missing or stale";
    VarLimit = 701, "var_limit", Bot, "order would push portfolio VaR over the limit";
    PortfolioVolatility = 702, "portfolio_volatility", Bot, "order would push annualised portfolio volatility over the limit";
    CorrelationLimit = 703, "correlation_limit", Bot, "order adds exposure to a symbol too correlated with the book's dominant position";
    SectorExposure = 704, "sector_exposure", Bot, "order would push a sector's exposure over its share of capital";
    LeverageLimit = 705, "leverage_limit", Bot, "order would push gross exposure over the leverage limit";
    // The rate limit is taken last, so refused orders spend no tokens.
    RateLimit = 800, "rate_limit", Bot, "order rate over the limit";
    // riskgate or the exchange could not carry the request.
    Overloaded = 900, "overloaded", Riskgate, "riskgate is at its connection or queue limit";
    UpstreamUnavailable = 901, "upstream_unavailable", Exchange, "exchange unreachable before the request was sent (not executed)";
    ShuttingDown = 902, "shutting_down", Riskgate, "riskgate is shutting down";
    Internal = 903, "internal", Riskgate, "riskgate internal error (failing closed)";
    UpstreamStatusUnknown = 904, "upstream_status_unknown", Exchange, "exchange did not answer in time after the request was sent: execution status unknown";
}

/// A refusal with its human-readable explanation (numbers included).
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, message: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "riskgate: {}: {}", self.reason.id(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_ids_are_unique_and_ordered() {
        let mut codes: Vec<u16> = RejectReason::ALL.iter().map(|r| r.code()).collect();
        let sorted = {
            let mut c = codes.clone();
            c.sort();
            c
        };
        assert_eq!(codes, sorted, "precedence order must follow codes");
        codes.dedup();
        assert_eq!(codes.len(), RejectReason::ALL.len());
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_id(r.id()), Some(*r));
        }
    }
}
