//! The forms a secret may be stored or answered in: as is, as a fast unsalted digest (hex),
//! or base64. Looking for these finds a password kept in a reversible or cheaply
//! brute-forced form, whatever the schema or the response.

use assay_format::DigestForm;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Digest as _;
use sha2::Digest as _;

/// `value` in `form`. Hex digests are lowercase; compare case-insensitively.
pub fn encode(value: &str, form: DigestForm) -> String {
    let b = value.as_bytes();
    match form {
        DigestForm::Plain => value.to_owned(),
        DigestForm::Md5 => hex(&md5::Md5::digest(b)),
        DigestForm::Sha1 => sha1dc::digest(b)
            .map(|d| format!("{d:x}"))
            // A collision attack on a password is not a thing; keep the form searchable.
            .unwrap_or_else(|c| format!("{:x}", c.digest())),
        DigestForm::Sha256 => hex(&sha2::Sha256::digest(b)),
        DigestForm::Sha512 => hex(&sha2::Sha512::digest(b)),
        DigestForm::Base64 => STANDARD.encode(b),
    }
}

/// Whether the form is a hex digest (searched case-insensitively).
pub fn is_hex(form: DigestForm) -> bool {
    !matches!(form, DigestForm::Plain | DigestForm::Base64)
}

/// Every form of `value` named: (`` `alice.password` as sha256 hex ``, the text).
pub fn forms(label: &str, value: &str, forms: &[DigestForm]) -> Vec<(String, String)> {
    forms
        .iter()
        .map(|f| {
            let what = match f {
                DigestForm::Plain => label.to_owned(),
                DigestForm::Base64 => format!("{label} in base64"),
                other => format!("{label} as {} hex", name(*other)),
            };
            (what, encode(value, *f))
        })
        .collect()
}

fn name(form: DigestForm) -> &'static str {
    match form {
        DigestForm::Plain => "plain",
        DigestForm::Md5 => "MD5",
        DigestForm::Sha1 => "SHA-1",
        DigestForm::Sha256 => "SHA-256",
        DigestForm::Sha512 => "SHA-512",
        DigestForm::Base64 => "base64",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every form.
pub const ALL: [DigestForm; 6] = [
    DigestForm::Plain,
    DigestForm::Md5,
    DigestForm::Sha1,
    DigestForm::Sha256,
    DigestForm::Sha512,
    DigestForm::Base64,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(
            encode("abc", DigestForm::Md5),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            encode("abc", DigestForm::Sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            encode("abc", DigestForm::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(encode("abc", DigestForm::Sha512).starts_with("ddaf35a193617aba"));
        assert_eq!(encode("abc", DigestForm::Base64), "YWJj");
        assert_eq!(encode("abc", DigestForm::Plain), "abc");
        assert_eq!(forms("`pw`", "abc", &ALL).len(), 6);
    }
}
