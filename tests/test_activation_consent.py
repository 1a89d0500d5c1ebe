"""E-mail and text-message consents are separate (Korea's 정보통신망법 §50 asks for consent to
advertising by each channel; Cafe24's member download and Shopify's customers export keep a
column for each). An SMS list holds the customers who agreed to SMS — never one who refused
SMS but agreed to e-mail — and an e-mail list those who agreed to e-mail.

Files: a Cafe24 member download (CP949; headers of the admin's 회원정보 다운로드 with the
consent columns added in its 다운로드 양식관리 — shopnotice.cafe24.com, "회원정보 다운로드") and
the Shopify customers export (header as tests/test_ingest_platforms.py cites it). The expected
lists are read off the rows here.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from danggol.activation.exports import export_segment
from danggol.ingest.load import ingest_files
from danggol.store.workspace import Workspace
from test_ingest_platforms import SHOPIFY_CUSTOMERS

AS_OF = dt.date(2025, 6, 30)
CAFE24_MEMBERS = ["아이디", "이름", "회원등급", "이메일", "휴대폰번호", "회원 가입일"]
CAFE24_MEMBERS += ["SMS 수신여부", "이메일 수신여부"]
# (id, phone, e-mail, SMS consent, e-mail consent)
MEMBERS = [
    ("sms_only", "010-1111-0001", "a@x.kr", "Y", "N"),
    ("email_only", "010-1111-0002", "b@x.kr", "N", "Y"),
    ("both", "010-1111-0003", "c@x.kr", "Y", "Y"),
    ("neither", "010-1111-0004", "d@x.kr", "N", "N"),
]


def cafe24_members(path: Path) -> Path:
    with path.open("w", encoding="cp949", newline="") as f:
        w = csv.writer(f)
        w.writerow(CAFE24_MEMBERS)
        for member, phone, email, sms, mail in MEMBERS:
            w.writerow([member, member, "일반회원", email, phone, "2024-03-02 10:11:12", sms, mail])
    return path


def shopify_customers(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(SHOPIFY_CUSTOMERS)
        for member, phone, email, sms, mail in MEMBERS:
            row = {
                "Customer ID": member,
                "First Name": member,
                "Email": email,
                "Phone": phone.replace("010-", "+82 10-"),
                "Accepts Email Marketing": "yes" if mail == "Y" else "no",
                "Accepts SMS Marketing": "yes" if sms == "Y" else "no",
            }
            w.writerow([row.get(h, "") for h in SHOPIFY_CUSTOMERS])
    return path


@pytest.mark.parametrize("platform", ["cafe24", "shopify"])
def test_the_sms_list_asks_for_sms_consent_and_the_email_list_for_email_consent(
    tmp_path: Path, platform: str
) -> None:
    ws = Workspace.init(tmp_path / "shop")
    if platform == "cafe24":
        ingest_files(ws, "customers", [cafe24_members(tmp_path / "members.csv")], preset="korean")
        key = {m[0]: m[0] for m in MEMBERS}
    else:
        ingest_files(ws, "customers", [shopify_customers(tmp_path / "c.csv")], preset="shopify")
        key = {m[0]: m[2] for m in MEMBERS}  # Shopify's customers are keyed by e-mail
    sms = export_segment(ws, "known_customer = true", "sms", tmp_path / "sms.csv", as_of=AS_OF)
    mail = export_segment(ws, "known_customer = true", "esp", tmp_path / "esp.csv", as_of=AS_OF)

    def ids(path: Path) -> set[str]:
        with path.open(encoding="utf-8-sig") as f:
            return {row["customer_id"] for row in csv.DictReader(f)}

    assert ids(tmp_path / "sms.csv") == {key[m[0]] for m in MEMBERS if m[3] == "Y"}
    assert ids(tmp_path / "esp.csv") == {key[m[0]] for m in MEMBERS if m[4] == "Y"}
    assert sms.left_out == {"not opted in to marketing": 2}, sms.left_out
    assert mail.left_out == {"not opted in to marketing": 2}, mail.left_out
