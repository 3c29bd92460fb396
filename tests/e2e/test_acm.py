"""AWS Certificate Manager as HTTPS load balancers use it: certificates requested from ACM
(issued at once by wharf's local certificate authority, `<data-dir>/ca.pem`, with DNS
validation shown as SUCCESS), imported certificates (PEM certificate, key and chain, checked as
AWS checks them), Describe / List / Get / Delete, tags, and deletion refused while an HTTPS
listener uses the certificate. Issued certificates are verified against ca.pem with the
openssl command-line tool."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from wharf_e2e import ACCOUNT_ID

OPENSSL = "/usr/bin/openssl"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def openssl(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"openssl {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def self_signed(workdir: Path, name: str, cn: str, key_args=("-newkey", "rsa:2048")) -> tuple[Path, Path]:
    """A self-signed certificate for `cn` and its key, written to NAME.crt / NAME.key."""
    cert, key = workdir / f"{name}.crt", workdir / f"{name}.key"
    openssl(
        "req", "-x509", *key_args, "-nodes", "-keyout", str(key), "-out", str(cert),
        "-days", "30", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
        cwd=workdir,
    )
    return cert, key


def test_request_describe_get_and_verify(wharf, cli):
    arn = wharf.aws(
        "acm", "request-certificate",
        "--domain-name", "blog.example.com",
        "--subject-alternative-names", "www.blog.example.com", "*.blog.example.com",
        "--validation-method", "DNS",
        "--tags", "Key=app,Value=blog",
        "--query", "CertificateArn", "--output", "text",
        cli=cli,
    ).stdout.strip()
    assert re.fullmatch(
        rf"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[89ab][0-9a-f]{{3}}-[0-9a-f]{{12}}",
        arn,
    ), arn
    # Issued at once: the waiter returns on the first poll.
    wharf.aws("acm", "wait", "certificate-validated", "--certificate-arn", arn, cli=cli)

    cert = wharf.aws("acm", "describe-certificate", "--certificate-arn", arn, cli=cli).json["Certificate"]
    assert cert["Status"] == "ISSUED"
    assert cert["Type"] == "AMAZON_ISSUED"
    assert cert["DomainName"] == "blog.example.com"
    assert cert["SubjectAlternativeNames"] == ["blog.example.com", "www.blog.example.com", "*.blog.example.com"]
    assert cert["Subject"] == "CN=blog.example.com"
    assert cert["Issuer"] == "wharf"
    assert cert["KeyAlgorithm"] == "RSA-2048"
    assert cert["SignatureAlgorithm"] == "SHA256WITHRSA"
    assert cert["InUseBy"] == []
    assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2})+", cert["Serial"]), cert["Serial"]
    assert cert["NotAfter"] > cert["NotBefore"]
    validations = cert["DomainValidationOptions"]
    assert [v["DomainName"] for v in validations] == cert["SubjectAlternativeNames"]
    for v in validations:
        assert v["ValidationMethod"] == "DNS"
        assert v["ValidationStatus"] == "SUCCESS"
        record = v["ResourceRecord"]
        assert record["Type"] == "CNAME"
        base = v["DomainName"].removeprefix("*.")
        assert re.fullmatch(rf"_[0-9a-f]{{32}}\.{re.escape(base)}\.", record["Name"]), record
        assert re.fullmatch(r"_[0-9a-f]{32}\.[a-z]{10}\.acm-validations\.aws\.", record["Value"]), record
    # blog.example.com and *.blog.example.com share one record, as in ACM.
    assert validations[0]["ResourceRecord"] == validations[2]["ResourceRecord"]

    # The certificate verifies against the CA users trust, for every name.
    ca = wharf.data_dir / "ca.pem"
    key_file = wharf.data_dir / "ca-key.pem"
    assert ca.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    got = wharf.aws("acm", "get-certificate", "--certificate-arn", arn, cli=cli).json
    assert got["CertificateChain"].strip() == ca.read_text().strip()
    leaf = wharf.work / "issued.pem"
    leaf.write_text(got["Certificate"])
    for name in ("blog.example.com", "www.blog.example.com", "x.blog.example.com"):
        out = openssl(
            "verify", "-CAfile", str(ca), "-purpose", "sslserver", "-verify_hostname", name,
            str(leaf), cwd=wharf.work,
        )
        assert "OK" in out
    text = openssl("x509", "-in", str(leaf), "-noout", "-text", cwd=wharf.work)
    assert "TLS Web Server Authentication" in text

    listed = wharf.aws("acm", "list-certificates", cli=cli).json["CertificateSummaryList"]
    assert [(c["CertificateArn"], c["Status"], c["Type"]) for c in listed] == [(arn, "ISSUED", "AMAZON_ISSUED")]
    tags = wharf.aws("acm", "list-tags-for-certificate", "--certificate-arn", arn, cli=cli).json["Tags"]
    assert tags == [{"Key": "app", "Value": "blog"}]

    wharf.aws("acm", "delete-certificate", "--certificate-arn", arn, cli=cli)
    wharf.aws_error("ResourceNotFoundException", "acm", "describe-certificate", "--certificate-arn", arn, cli=cli)

    # The CA survives a restart: a certificate issued before still verifies against ca.pem.
    wharf.restart()
    assert wharf.data_dir.joinpath("ca.pem").read_text() == ca.read_text()
    again = wharf.aws(
        "acm", "request-certificate", "--domain-name", "after.example.com",
        "--query", "CertificateArn", "--output", "text", cli=cli,
    ).stdout.strip()
    second = wharf.work / "second.pem"
    second.write_text(wharf.aws(
        "acm", "get-certificate", "--certificate-arn", again,
        "--query", "Certificate", "--output", "text", cli=cli,
    ).stdout)
    openssl("verify", "-CAfile", str(ca), str(second), cwd=wharf.work)


def test_import_certificates(wharf, cli):
    work = wharf.work
    cert, key = self_signed(work, "site", "imported.example.com")
    arn = wharf.aws(
        "acm", "import-certificate",
        "--certificate", f"fileb://{cert}",
        "--private-key", f"fileb://{key}",
        "--query", "CertificateArn", "--output", "text",
        cli=cli,
    ).stdout.strip()
    detail = wharf.aws("acm", "describe-certificate", "--certificate-arn", arn, cli=cli).json["Certificate"]
    assert detail["Type"] == "IMPORTED"
    assert detail["Status"] == "ISSUED"
    assert detail["DomainName"] == "imported.example.com"
    assert detail["SubjectAlternativeNames"] == ["imported.example.com"]
    assert detail["Subject"] == "CN=imported.example.com"
    assert detail["KeyAlgorithm"] == "RSA-2048"
    assert "ImportedAt" in detail and "DomainValidationOptions" not in detail
    got = wharf.aws("acm", "get-certificate", "--certificate-arn", arn, cli=cli).json
    assert got["Certificate"].strip() == cert.read_text().strip()

    # With a chain: a certificate signed by a CA of our own.
    ca_cert, ca_key = self_signed(work, "myca", "My Test CA")
    leaf_key = work / "leaf.key"
    openssl("genrsa", "-out", str(leaf_key), "2048", cwd=work)
    openssl("req", "-new", "-key", str(leaf_key), "-subj", "/CN=chained.example.com",
            "-out", str(work / "leaf.csr"), cwd=work)
    openssl("x509", "-req", "-in", str(work / "leaf.csr"), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "30", "-out", str(work / "leaf.crt"), cwd=work)
    chained = wharf.aws(
        "acm", "import-certificate",
        "--certificate", f"fileb://{work / 'leaf.crt'}",
        "--private-key", f"fileb://{leaf_key}",
        "--certificate-chain", f"fileb://{ca_cert}",
        "--query", "CertificateArn", "--output", "text",
        cli=cli,
    ).stdout.strip()
    chained_detail = wharf.aws(
        "acm", "describe-certificate", "--certificate-arn", chained, cli=cli
    ).json["Certificate"]
    assert chained_detail["Issuer"] == "My Test CA"
    assert wharf.aws(
        "acm", "get-certificate", "--certificate-arn", chained, cli=cli
    ).json["CertificateChain"].strip() == ca_cert.read_text().strip()

    # A key that is not the certificate's, a certificate that does not parse, two
    # certificates, a chain that does not parse: AWS's ValidationException.
    other_cert, other_key = self_signed(work, "other", "other.example.com")
    result = wharf.aws_error(
        "ValidationException",
        "acm", "import-certificate", "--certificate", f"fileb://{cert}",
        "--private-key", f"fileb://{other_key}", cli=cli,
    )
    assert "does not match" in result.stderr
    garbage = work / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
    wharf.aws_error(
        "ValidationException",
        "acm", "import-certificate", "--certificate", f"fileb://{garbage}",
        "--private-key", f"fileb://{key}", cli=cli,
    )
    both = work / "both.pem"
    both.write_text(cert.read_text() + other_cert.read_text())
    result = wharf.aws_error(
        "ValidationException",
        "acm", "import-certificate", "--certificate", f"fileb://{both}",
        "--private-key", f"fileb://{key}", cli=cli,
    )
    assert "more than one certificate" in result.stderr
    notes = work / "notes.txt"
    notes.write_text("just some text, no PEM here\n")
    wharf.aws_error(
        "ValidationException",
        "acm", "import-certificate", "--certificate", f"fileb://{cert}",
        "--private-key", f"fileb://{key}", "--certificate-chain", f"fileb://{notes}", cli=cli,
    )
    # Re-import over the same ARN.
    reimported = wharf.aws(
        "acm", "import-certificate", "--certificate-arn", arn,
        "--certificate", f"fileb://{cert}", "--private-key", f"fileb://{key}",
        "--query", "CertificateArn", "--output", "text", cli=cli,
    ).stdout.strip()
    assert reimported == arn


def test_import_key_formats(wharf):
    acm = wharf.boto3_client("acm")
    work = wharf.work
    # PKCS#1 ("BEGIN RSA PRIVATE KEY"), SEC1 EC ("BEGIN EC PRIVATE KEY") and PKCS#8 keys.
    rsa_key = work / "pkcs1.key"
    openssl("genrsa", "-traditional", "-out", str(rsa_key), "2048", cwd=work)
    ec_key = work / "sec1.key"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ec_key), cwd=work)
    for key, expected in ((rsa_key, "RSA-2048"), (ec_key, "EC-prime256v1")):
        cert = work / f"{key.stem}.crt"
        openssl("req", "-x509", "-key", str(key), "-out", str(cert), "-days", "30",
                "-subj", f"/CN={key.stem}.example.com", cwd=work)
        arn = acm.import_certificate(Certificate=cert.read_bytes(), PrivateKey=key.read_bytes())[
            "CertificateArn"
        ]
        detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        assert detail["KeyAlgorithm"] == expected
        assert detail["DomainName"] == f"{key.stem}.example.com"


def test_list_filters_tags_and_errors(wharf):
    acm = wharf.boto3_client("acm")
    rsa = acm.request_certificate(DomainName="rsa.example.com")["CertificateArn"]
    ec = acm.request_certificate(DomainName="ec.example.com", KeyAlgorithm="EC_prime256v1")[
        "CertificateArn"
    ]
    detail = acm.describe_certificate(CertificateArn=ec)["Certificate"]
    assert detail["KeyAlgorithm"] == "EC-prime256v1"
    # Without ValidationMethod ACM validates by email.
    rsa_detail = acm.describe_certificate(CertificateArn=rsa)["Certificate"]
    assert rsa_detail["DomainValidationOptions"][0]["ValidationMethod"] == "EMAIL"
    assert "admin@rsa.example.com" in rsa_detail["DomainValidationOptions"][0]["ValidationEmails"]

    # ListCertificates shows RSA_1024 / RSA_2048 certificates unless told otherwise (as AWS).
    default = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
    assert default == [rsa]
    both = [
        c["CertificateArn"]
        for c in acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]})[
            "CertificateSummaryList"
        ]
    ]
    assert sorted(both) == sorted([rsa, ec])
    paged = [
        c["CertificateArn"]
        for page in acm.get_paginator("list_certificates").paginate(
            Includes={"keyTypes": ["RSA_2048", "EC_prime256v1"]}, PaginationConfig={"PageSize": 1}
        )
        for c in page["CertificateSummaryList"]
    ]
    assert sorted(paged) == sorted([rsa, ec])
    assert acm.list_certificates(CertificateStatuses=["EXPIRED"])["CertificateSummaryList"] == []

    acm.add_tags_to_certificate(CertificateArn=rsa, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b"}])
    acm.remove_tags_from_certificate(CertificateArn=rsa, Tags=[{"Key": "a"}])
    assert acm.list_tags_for_certificate(CertificateArn=rsa)["Tags"] == [{"Key": "b"}]

    missing = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/00000000-0000-4000-8000-000000000000"
    for call in (
        lambda: acm.describe_certificate(CertificateArn=missing),
        lambda: acm.get_certificate(CertificateArn=missing),
        lambda: acm.delete_certificate(CertificateArn=missing),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        acm.request_certificate(DomainName="localhost")
    assert error_code(exc) == "ValidationException"
    # Another region does not see the certificate.
    west = wharf.boto3_client("acm", region="eu-west-1")
    with pytest.raises(ClientError) as exc:
        west.describe_certificate(CertificateArn=rsa)
    assert error_code(exc) == "ResourceNotFoundException"


def test_delete_refused_while_a_listener_uses_it(wharf):
    acm = wharf.boto3_client("acm")
    elbv2 = wharf.boto3_client("elbv2")
    ec2 = wharf.boto3_client("ec2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    cert = acm.request_certificate(DomainName="app.example.com", ValidationMethod="DNS")["CertificateArn"]
    tg = elbv2.create_target_group(Name="tg", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    lb = elbv2.create_load_balancer(Name="app", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=lb, Protocol="HTTPS", Port=443,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )["Listeners"][0]["ListenerArn"]
    # AWS lists the load balancer, not the listener.
    assert acm.describe_certificate(CertificateArn=cert)["Certificate"]["InUseBy"] == [lb]
    assert listener.startswith(lb.replace(":loadbalancer/", ":listener/"))
    summary = acm.list_certificates()["CertificateSummaryList"][0]
    assert summary["InUse"] is True
    with pytest.raises(ClientError) as exc:
        acm.delete_certificate(CertificateArn=cert)
    assert error_code(exc) == "ResourceInUseException"
    elbv2.delete_load_balancer(LoadBalancerArn=lb)
    assert acm.describe_certificate(CertificateArn=cert)["Certificate"]["InUseBy"] == []
    acm.delete_certificate(CertificateArn=cert)
