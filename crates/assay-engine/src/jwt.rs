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
    let claims = |exp: Option<i64>, sub: &str| {
        let mut c = serde_json::Map::new();
        c.insert(subject_claim.to_owned(), Value::String(sub.to_owned()));
        c.insert("iat".into(), json!(now));
        if let Some(exp) = exp {
            c.insert("exp".into(), json!(exp));
        }
        Value::Object(c)
    };
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let valid = claims(Some(now + ttl), subject);
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
                &claims(Some(now + ttl), "00000000-0000-4000-8000-000000000000"),
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
            &claims(Some(now - 3600), subject),
            secret.as_bytes(),
        ),
        TokenKind::NoExp => sign(&hs256, &claims(None, subject), secret.as_bytes()),
        TokenKind::UnknownSubject => sign(
            &hs256,
            &claims(Some(now + ttl), "00000000-0000-4000-8000-00000000dead"),
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
}
