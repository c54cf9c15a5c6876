//! A fast reader for the one answer every Binance order gets: a flat JSON
//! object (`{"symbol":"BTCUSDT","orderId":28,...,"fills":[...]}`).
//!
//! serde_json's derive spent ~12 000 instructions per order answer here
//! (callgrind), most of them validating and skipping fields riskgate ignores.
//! This reader takes only the plain shape: keys and strings without escapes,
//! integer or literal scalars, a `fills` array of flat objects, nothing nested
//! elsewhere. On anything else (an escape, a nested object, a duplicate field,
//! a type serde would refuse) it returns `None` and the caller uses serde_json,
//! so it can only ever agree with serde or step aside; a test holds the two
//! equal over every answer shape in the tests plus mutations of them.

use std::borrow::Cow;

use super::learn::{WireFill, WireOrder};

struct Cursor<'a> {
    /// The whole answer, checked as UTF-8 once, so slicing it between ASCII
    /// delimiters needs no further check.
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// A scalar or string value as found.
enum Value<'a> {
    Str(&'a str),
    /// A number, `true`, `false` or `null`, as written.
    Bare(&'a str),
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A string without escapes or control characters (else `None`).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let mut end = start;
        loop {
            match *self.b.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.i = end + 1;
        self.s.get(start..end)
    }

    /// A number or literal: the bytes up to the next delimiter.
    fn bare(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        let len = self.b[start..]
            .iter()
            .position(|&c| matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))?;
        let raw = &self.b[start..start + len];
        let ok = raw == b"true" || raw == b"false" || raw == b"null" || is_json_number(raw);
        if !ok {
            return None;
        }
        self.i = start + len;
        self.s.get(start..start + len)
    }

    fn value(&mut self) -> Option<Value<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Value::Str),
            b'{' | b'[' => None,
            _ => self.bare().map(Value::Bare),
        }
    }

    /// `,` → more members; `}` → end of the object.
    fn next_member(&mut self) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(true)
            }
            b'}' => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the JSON number grammar.
fn is_json_number(s: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if s.get(i) == Some(&b'-') {
        i += 1;
    }
    if s.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return false;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == s.len()
}

/// A JSON integer as serde_json reads it into an `i64`: digits with an
/// optional minus, no leading zero, no fraction or exponent. (serde_json reads
/// `-0` as the float -0.0, which an `i64` refuses.)
fn integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if s == "-0"
        || digits.is_empty()
        || !digits.bytes().all(|c| c.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Field slots, aliases folded the way the serde derive folds them.
const SYMBOL: u16 = 1;
const ORDER_ID: u16 = 1 << 1;
const CLIENT_ORDER_ID: u16 = 1 << 2;
const ORIG_CLIENT_ORDER_ID: u16 = 1 << 3;
const SIDE: u16 = 1 << 4;
const STATUS: u16 = 1 << 5;
const ORIG_QTY: u16 = 1 << 6;
const EXECUTED_QTY: u16 = 1 << 7;
const CUM_QUOTE: u16 = 1 << 8;
const FILLS: u16 = 1 << 9;

fn slot(key: &str) -> Option<u16> {
    Some(match key {
        "symbol" => SYMBOL,
        "orderId" | "algoId" => ORDER_ID,
        "clientOrderId" | "clientAlgoId" => CLIENT_ORDER_ID,
        "origClientOrderId" => ORIG_CLIENT_ORDER_ID,
        "side" => SIDE,
        "status" | "algoStatus" => STATUS,
        "origQty" | "quantity" => ORIG_QTY,
        "executedQty" => EXECUTED_QTY,
        "cummulativeQuoteQty" | "cumQuote" => CUM_QUOTE,
        "fills" => FILLS,
        _ => return None,
    })
}

fn fills<'a>(c: &mut Cursor<'a>) -> Option<Vec<WireFill<'a>>> {
    c.eat(b'[')?;
    let mut out = Vec::new();
    if c.peek()? == b']' {
        c.i += 1;
        return Some(out);
    }
    loop {
        c.eat(b'{')?;
        let (mut price, mut qty) = (None, None);
        if c.peek()? == b'}' {
            return None; // serde refuses a fill without price and qty
        }
        loop {
            let key = c.string()?;
            c.eat(b':')?;
            let v = c.value()?;
            match (key, v) {
                ("price", Value::Str(s)) if price.is_none() => price = Some(s),
                ("qty", Value::Str(s)) if qty.is_none() => qty = Some(s),
                ("price" | "qty", _) => return None,
                _ => {}
            }
            if !c.next_member()? {
                break;
            }
        }
        out.push(WireFill {
            price: Cow::Borrowed(price?),
            qty: Cow::Borrowed(qty?),
        });
        match c.peek()? {
            b',' => c.i += 1,
            b']' => {
                c.i += 1;
                return Some(out);
            }
            _ => return None,
        }
    }
}

/// The order in a one-object answer, or `None` to let serde_json decide.
pub(super) fn order(body: &[u8]) -> Option<WireOrder<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut c = Cursor {
        s: text,
        b: body,
        i: 0,
    };
    c.eat(b'{')?;
    let mut seen = 0u16;
    let mut o = WireOrder {
        symbol: Cow::Borrowed(""),
        order_id: None,
        client_order_id: None,
        orig_client_order_id: None,
        side: None,
        status: None,
        orig_qty: None,
        executed_qty: None,
        cummulative_quote_qty: None,
        fills: Vec::new(),
    };
    if c.peek()? != b'}' {
        loop {
            let key = c.string()?;
            c.eat(b':')?;
            match slot(key) {
                None => {
                    c.value()?;
                }
                Some(s) => {
                    if seen & s != 0 {
                        return None; // serde: duplicate field
                    }
                    seen |= s;
                    if s == FILLS {
                        o.fills = fills(&mut c)?;
                    } else {
                        let v = c.value()?;
                        let text = match v {
                            Value::Str(t) => Some(t),
                            Value::Bare("null") if s != SYMBOL => None,
                            Value::Bare(n) if s == ORDER_ID => {
                                o.order_id = Some(integer(n)?);
                                None
                            }
                            Value::Bare(_) => return None,
                        };
                        if s == ORDER_ID && matches!(v, Value::Str(_)) {
                            return None; // serde: a string is not an i64
                        }
                        let text = text.map(Cow::Borrowed);
                        match s {
                            SYMBOL => o.symbol = text?,
                            CLIENT_ORDER_ID => o.client_order_id = text,
                            ORIG_CLIENT_ORDER_ID => o.orig_client_order_id = text,
                            SIDE => o.side = text,
                            STATUS => o.status = text,
                            ORIG_QTY => o.orig_qty = text,
                            EXECUTED_QTY => o.executed_qty = text,
                            CUM_QUOTE => o.cummulative_quote_qty = text,
                            _ => {}
                        }
                    }
                }
            }
            if !c.next_member()? {
                break;
            }
        }
    } else {
        c.i += 1;
    }
    if seen & SYMBOL == 0 {
        return None; // serde: missing field
    }
    c.ws();
    (c.i == body.len()).then_some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real answer shapes: spot FULL/RESULT/ACK, cancel, futures, algo.
    const ANSWERS: &[&str] = &[
        r#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,"price":"0.00000000","origQty":"10.00000000","executedQty":"10.00000000","origQuoteOrderQty":"0.000000","cummulativeQuoteQty":"10.00000000","status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL","workingTime":1507725176595,"selfTradePreventionMode":"NONE","fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56},{"price":"3999.00000000","qty":"5.00000000","commission":"19.99500000","commissionAsset":"USDT","tradeId":57}]}"#,
        r#"{"symbol":"BTCUSDT","orderId":1000001,"orderListId":-1,"clientOrderId":"x-1","transactTime":1764000000000,"price":"57500.01","origQty":"0.001","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"NEW","timeInForce":"GTC","type":"LIMIT","side":"BUY","fills":[]}"#,
        r#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"abc","transactTime":1}"#,
        r#"{"symbol":"LTCBTC","origClientOrderId":"myOrder1","orderId":4,"orderListId":-1,"clientOrderId":"cancelMyOrder1","transactTime":1684804350068,"price":"2.00000000","origQty":"1.00000000","executedQty":"0.00000000","cummulativeQuoteQty":"0.00000000","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY","selfTradePreventionMode":"NONE"}"#,
        r#"{"clientOrderId":"testOrder","cumQty":"0","cumQuote":"0","executedQty":"0","orderId":22542179,"avgPrice":"0.00000","origQty":"10","price":"0","reduceOnly":false,"side":"BUY","positionSide":"SHORT","status":"NEW","stopPrice":"9300","closePosition":false,"symbol":"BTCUSDT","timeInForce":"GTD","type":"TRAILING_STOP_MARKET","origType":"TRAILING_STOP_MARKET","activatePrice":"9020","priceRate":"0.3","updateTime":1566818724722,"workingType":"CONTRACT_PRICE","priceProtect":false,"priceMatch":"NONE","selfTradePreventionMode":"NONE","goodTillDate":1693207680000}"#,
        r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"TAKE_PROFIT","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"750.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}"#,
        " {\n \"symbol\" : \"ETHUSDT\" ,\t\"orderId\":-7, \"status\":null ,\"x\":1.5e-3 } \n",
    ];

    fn serde(body: &[u8]) -> Option<WireOrder<'_>> {
        serde_json::from_slice(body).ok()
    }

    #[test]
    fn reads_every_real_answer_shape_as_serde_does() {
        for a in ANSWERS {
            let fast = order(a.as_bytes());
            assert!(fast.is_some(), "fast reader stepped aside on {a}");
            assert_eq!(fast, serde(a.as_bytes()), "{a}");
        }
    }

    /// Every single-byte deletion, every insertion of a tricky byte, and
    /// duplicated or retyped fields: the fast reader agrees with serde_json
    /// or steps aside, never disagrees.
    #[test]
    fn agrees_with_serde_or_steps_aside_on_mutations() {
        let tricky: &[u8] = b"\\\"{}[],:0-.e aZ\x01\xff";
        let mut agreed = 0;
        let mut check = |body: &[u8]| {
            if let Some(f) = order(body) {
                assert_eq!(Some(f), serde(body), "{}", String::from_utf8_lossy(body));
                agreed += 1;
            }
        };
        for a in ANSWERS {
            let a = a.as_bytes();
            for i in 0..a.len() {
                let mut del = a.to_vec();
                del.remove(i);
                check(&del);
                for &t in tricky {
                    let mut ins = a.to_vec();
                    ins.insert(i, t);
                    check(&ins);
                    let mut rep = a.to_vec();
                    rep[i] = t;
                    check(&rep);
                }
            }
        }
        for extra in [
            r#""orderId":29"#,
            r#""algoId":29"#,
            r#""symbol":"X""#,
            r#""status":"FILLED""#,
            r#""orderId":"29""#,
            r#""orderId":29.0"#,
            r#""orderId":1e3"#,
            r#""orderId":99999999999999999999"#,
            r#""side":1"#,
            r#""fills":null"#,
            r#""fills":[{"price":"1"}]"#,
            r#""fills":[{"price":"1","qty":"2","price":"3"}]"#,
            r#""nested":{"a":1}"#,
            r#""list":[1,2]"#,
            r#""symbol":null"#,
        ] {
            let body = format!(r#"{{"symbol":"BTCUSDT","orderId":28,{extra}}}"#);
            check(body.as_bytes());
            let body = format!(r#"{{{extra}}}"#);
            check(body.as_bytes());
        }
        assert!(
            agreed > 1000,
            "the fast reader took too few variants: {agreed}"
        );
    }
}
