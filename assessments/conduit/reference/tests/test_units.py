"""Slugs, field rules, passwords and tokens: the parts that need no database."""

import time
import unittest

import jwt

from conduit import security, validation
from conduit.errors import ApiError
from conduit.slugs import slugify, with_suffix


class SlugTest(unittest.TestCase):
    def test_readable_and_url_safe(self):
        self.assertEqual(slugify("How to train your dragon"), "how-to-train-your-dragon")
        self.assertEqual(slugify("  Ça va?  Très bien!! "), "ca-va-tres-bien")
        self.assertEqual(slugify("!!!"), "article")
        self.assertLessEqual(len(slugify("x" * 5000)), 80)

    def test_suffix_keeps_the_base(self):
        first, second = with_suffix("dragons"), with_suffix("dragons")
        self.assertTrue(first.startswith("dragons-"))
        self.assertNotEqual(first, second)


class ValidationTest(unittest.TestCase):
    def assertInvalid(self, field, call):
        with self.assertRaises(ApiError) as caught:
            call()
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(caught.exception.key, field)

    def test_required_text(self):
        self.assertInvalid("title", lambda: validation.text({}, "title", required=True, max_len=9))
        self.assertInvalid("title", lambda: validation.text({"title": " "}, "title", required=True, max_len=9))
        self.assertInvalid("title", lambda: validation.text({"title": 3}, "title", required=True, max_len=9))
        self.assertInvalid("title", lambda: validation.text({"title": "x" * 10}, "title", required=True, max_len=9))
        self.assertEqual(validation.text({"title": "ok"}, "title", required=True, max_len=9), "ok")

    def test_users(self):
        self.assertInvalid("email", lambda: validation.email({"email": "no-at-sign"}, required=True))
        self.assertInvalid("username", lambda: validation.username({"username": "a b"}, required=True))
        self.assertInvalid("password", lambda: validation.password({"password": "short"}, required=True))
        self.assertInvalid("password", lambda: validation.password({"password": "é" * 40}, required=True))
        self.assertEqual(validation.email({"email": " a@b.c "}, required=True), "a@b.c")

    def test_tags_are_strings_deduplicated(self):
        self.assertEqual(validation.tag_list({"tagList": ["a", "b", "a"]}), ["a", "b"])
        self.assertIsNone(validation.tag_list({}))
        self.assertInvalid("tagList", lambda: validation.tag_list({"tagList": "a"}))
        self.assertInvalid("tagList", lambda: validation.tag_list({"tagList": [1]}))

    def test_paging(self):
        self.assertEqual(validation.page({}), (20, 0))
        self.assertEqual(validation.page({"limit": "5", "offset": "10"}), (5, 10))
        self.assertEqual(validation.page({"limit": "99999"}), (validation.MAX_LIMIT, 0))
        for bad in ("-1", "abc", "1.5", "²", "9" * 40):
            self.assertInvalid("limit", lambda bad=bad: validation.page({"limit": bad}))


class SecurityTest(unittest.TestCase):
    def test_passwords_are_bcrypt(self):
        stored = security.hash_password("correct horse battery")
        self.assertTrue(stored.startswith("$2b$"))
        self.assertTrue(security.verify_password("correct horse battery", stored))
        self.assertFalse(security.verify_password("correct horse", stored))
        self.assertFalse(security.verify_password("x", "not a hash"))

    def test_tokens(self):
        token = security.issue_token("secret", 42, "ada")
        self.assertEqual(security.token_user_id("secret", token), 42)
        self.assertIsNone(security.token_user_id("other", token))
        expired = security.issue_token("secret", 42, "ada", now=time.time() - 2 * 86400)
        self.assertIsNone(security.token_user_id("secret", expired))
        unsigned = jwt.encode({"sub": "42", "exp": int(time.time()) + 60}, None, algorithm="none")
        self.assertIsNone(security.token_user_id("secret", unsigned))
        no_exp = jwt.encode({"sub": "42"}, "secret", algorithm="HS256")
        self.assertIsNone(security.token_user_id("secret", no_exp))


if __name__ == "__main__":
    unittest.main()
