//! JWTs: valid HS256 tokens minted with the run's secret, and crafted attack tokens.

use assay_format::TokenKind;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// What the `Authorization` header should be for `kind` (None: send no header).
///
/// `subject` is the principal's user id; `now` is the Unix time; `ttl` the lifetime.
pub fn authorization(
    kind: TokenKind,
    secret: &str,
    subject_claim: &str,
    subject: &str,
    now: i64,
    ttl: i64,
) -> Option<String> {
    let mut base = serde_json::Map::new();
    base.insert(subject_claim.to_owned(), Value::String(subject.to_owned()));
    authorization_from(kind, secret, subject_claim, base, now, ttl)
}

/// The claims of a JWT (its payload, decoded), without verifying anything; `None` when
/// `token` is not a JWT with a JSON object payload.
pub fn claims_of(token: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Like [`authorization`], with `base` claims (e.g. those of a token the service issued,
/// whose layout the assessment does not know): `iat` and `exp` are set afresh, the subject
/// claim is replaced only where the kind needs another subject.
pub fn authorization_from(
    kind: TokenKind,
    secret: &str,
    subject_claim: &str,
    base: serde_json::Map<String, Value>,
    now: i64,
    ttl: i64,
) -> Option<String> {
    let subject = base
        .get(subject_claim)
        .cloned()
        .unwrap_or(Value::String("unknown".into()));
    let claims = |exp: Option<i64>, sub: Value| {
        let mut c = base.clone();
        c.insert(subject_claim.to_owned(), sub);
        c.insert("iat".into(), json!(now));
        match exp {
            Some(exp) => c.insert("exp".into(), json!(exp)),
            None => c.remove("exp"),
        };
        Value::Object(c)
    };
    let subject = || subject.clone();
    let other = |s: &str| Value::String(s.to_owned());
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let valid = claims(Some(now + ttl), subject());
    let token = match kind {
        TokenKind::Missing => return None,
        TokenKind::Malformed => "not-a-jwt".to_owned(),
        TokenKind::Valid => sign(&hs256, &valid, secret.as_bytes()),
        TokenKind::AlgNone => unsigned("none", &valid),
        TokenKind::AlgNoneCapitalised => unsigned("None", &valid),
        TokenKind::AlgNoneUpper => unsigned("NONE", &valid),
        TokenKind::StrippedSignature => {
            let t = sign(&hs256, &valid, secret.as_bytes());
            match t.rsplit_once('.') {
                Some((head, _)) => format!("{head}."),
                None => t,
            }
        }
        TokenKind::TamperedPayload => {
            // Sign for another subject, then swap in the real subject's payload.
            let t = sign(
                &hs256,
                &claims(
                    Some(now + ttl),
                    other("00000000-0000-4000-8000-000000000000"),
                ),
                secret.as_bytes(),
            );
            let parts: Vec<&str> = t.split('.').collect();
            match parts.as_slice() {
                [h, _, s] => format!("{h}.{}.{s}", b64(&valid)),
                _ => t,
            }
        }
        TokenKind::WrongKey => sign(&hs256, &valid, b"assay-wrong-key-0123456789abcdef"),
        TokenKind::Expired => sign(
            &hs256,
            &claims(Some(now - 3600), subject()),
            secret.as_bytes(),
        ),
        TokenKind::NoExp => sign(&hs256, &claims(None, subject()), secret.as_bytes()),
        TokenKind::UnknownSubject => sign(
            &hs256,
            &claims(
                Some(now + ttl),
                other("00000000-0000-4000-8000-00000000dead"),
            ),
            secret.as_bytes(),
        ),
    };
    Some(format!("Bearer {token}"))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
}

fn unsigned(alg: &str, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(&json!({"alg": alg, "typ": "JWT"})),
        b64(claims)
    )
}

fn sign(header: &Value, claims: &Value, key: &[u8]) -> String {
    let signing_input = format!("{}.{}", b64(header), b64(claims));
    let sig = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
    }

    #[test]
    fn valid_token_verifies_and_attacks_differ() {
        let auth =
            authorization(TokenKind::Valid, "s3cret", "sub", "u1", 1000, 60).expect("header");
        let token = auth.strip_prefix("Bearer ").expect("bearer");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode(parts[0])["alg"], "HS256");
        assert_eq!(decode(parts[1])["sub"], "u1");
        assert_eq!(decode(parts[1])["exp"], 1060);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("key");
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            parts[2]
        );

        let none =
            authorization(TokenKind::AlgNone, "s3cret", "sub", "u1", 1000, 60).expect("header");
        let none_parts: Vec<&str> = none.trim_start_matches("Bearer ").split('.').collect();
        assert_eq!(decode(none_parts[0])["alg"], "none");
        assert_eq!(none_parts[2], "");
        let expired =
            authorization(TokenKind::Expired, "s3cret", "sub", "u1", 1000, 60).expect("header");
        assert_eq!(
            decode(
                expired
                    .trim_start_matches("Bearer ")
                    .split('.')
                    .nth(1)
                    .expect("payload")
            )["exp"],
            -2600
        );
        assert!(authorization(TokenKind::Missing, "s", "sub", "u", 0, 1).is_none());
        let no_exp =
            authorization(TokenKind::NoExp, "s3cret", "sub", "u1", 1000, 60).expect("header");
        assert!(
            decode(
                no_exp
                    .trim_start_matches("Bearer ")
                    .split('.')
                    .nth(1)
                    .expect("payload")
            )
            .get("exp")
            .is_none()
        );
    }

    #[test]
    fn crafted_tokens_keep_the_claims_of_the_services_own_token() {
        // A service's token with its own layout: no `sub`, a nested user.
        let own = sign(
            &json!({"alg": "HS256"}),
            &json!({"user": {"id": 7, "username": "alice"}, "exp": 5000}),
            b"service-secret",
        );
        let base = claims_of(&own).expect("a JWT payload");
        let payload = |h: Option<String>| {
            let h = h.expect("a header");
            decode(
                h.trim_start_matches("Bearer ")
                    .split('.')
                    .nth(1)
                    .expect("payload"),
            )
        };
        let expired = payload(authorization_from(
            TokenKind::Expired,
            "s3cret",
            "sub",
            base.clone(),
            1000,
            60,
        ));
        assert_eq!(expired["user"]["username"], "alice");
        assert_eq!(expired["exp"], -2600);
        let valid = payload(authorization_from(
            TokenKind::Valid,
            "s3cret",
            "sub",
            base.clone(),
            1000,
            60,
        ));
        assert_eq!(valid["user"]["id"], 7);
        assert_eq!(valid["exp"], 1060);
        let unknown = payload(authorization_from(
            TokenKind::UnknownSubject,
            "s3cret",
            "user",
            base,
            1000,
            60,
        ));
        assert_ne!(unknown["user"], json!({"id": 7, "username": "alice"}));
        assert!(claims_of("not-a-jwt").is_none());
        assert!(claims_of("a.bm90IGpzb24.c").is_none());
    }
}
