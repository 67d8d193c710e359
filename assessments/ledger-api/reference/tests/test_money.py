"""Amount parsing and formatting: the contract's grammar, bounds and exactness."""

import unittest
from decimal import Decimal

from ledger.money import InvalidAmount, format_amount, parse_amount


class ParseAmountTest(unittest.TestCase):
    def test_accepts_the_contract_grammar(self):
        cases = {"1": "1.00", "0.01": "0.01", "12.3": "12.30", "12.30": "12.30",
                 "007.5": "7.50", "1000000": "1000000.00", "1000000.00": "1000000.00"}
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(format_amount(parse_amount(raw)), expected)

    def test_returns_exact_decimals(self):
        total = parse_amount("0.10") + parse_amount("0.20")
        self.assertIsInstance(total, Decimal)
        self.assertEqual(total, Decimal("0.30"))

    def test_rejects_malformed_strings(self):
        for raw in ["", " 1", "1 ", "1\n", "-1", "+1", "1.", ".5", "1.234", "1e3", "1,00",
                    "١٢", "0x10", "NaN", "Infinity", "1.0.0"]:
            with self.subTest(raw=raw), self.assertRaises(InvalidAmount):
                parse_amount(raw)

    def test_rejects_non_strings(self):
        for raw in [1, 1.5, None, True, ["1"], {"v": "1"}]:
            with self.subTest(raw=raw), self.assertRaises(InvalidAmount):
                parse_amount(raw)

    def test_bounds(self):
        for raw in ["0", "0.00", "0.0", "1000000.01", "99999999999999999999999"]:
            with self.subTest(raw=raw), self.assertRaises(InvalidAmount):
                parse_amount(raw)


class FormatAmountTest(unittest.TestCase):
    def test_two_decimals(self):
        self.assertEqual(format_amount(Decimal("0")), "0.00")
        self.assertEqual(format_amount(Decimal("5.5")), "5.50")
        self.assertEqual(format_amount(Decimal("123456789012345678.99")), "123456789012345678.99")


if __name__ == "__main__":
    unittest.main()
