"""wharf's OCI Distribution registry (ECR's `/v2/` on the API port), with real clients and
raw HTTP.

- skopeo (Debian) copies multi-layer OCI images (written by ecr_images.py, no network) into
  wharf by version tag and git-SHA tag, inspects them, and copies them back out, by tag and by
  digest; the ECR API (ListImages, DescribeImages, BatchGetImage) sees what was pushed.
- Multi-arch OCI image indexes, tag immutability, lifecycle expiry and garbage collection.
- Raw HTTP (http.client) for what clients never send: auth refusals, wrong digests, manifests
  naming missing blobs, invalid names and tags, oversized manifests, abandoned and cancelled
  uploads, cross-repository mounts, ranges and pagination.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

from ecr_images import (
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    image_manifest,
    make_config_blob,
    make_layer_blob,
    random_bytes,
    read_oci_layout,
    verify_oci_blobs,
    write_oci_image,
    write_oci_index,
)
from wharf_e2e import (
    ACCOUNT_ID,
    Ecr,
    Registry,
    Skopeo,
    as_datetime,
    assert_registry_error,
    git_sha_like,
    registry_error_codes,
    wait_until,
)

# Three layers of different sizes (gzip'd random bytes do not shrink).
LAYER_SIZES = (1024 * 1024, 256 * 1024, 4 * 1024)
VERSION_TAG = "v1.4.0"


def docker_ref(ecr: Ecr, repo: str, reference: str) -> str:
    sep = "@" if reference.startswith("sha256:") else ":"
    return f"docker://{ecr.host}/{repo}{sep}{reference}"


def push(skopeo: Skopeo, ecr: Ecr, image, repo: str, tag: str, check=True, all_images=False):
    return skopeo.copy(
        image.ref, docker_ref(ecr, repo, tag), dest_creds=ecr.creds, all_images=all_images, check=check
    )


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------
# skopeo: push, inspect, pull; the ECR API's view of the pushed images
# ---------------------------------------------------------------------------------------


def test_skopeo_push_inspect_pull_multi_layer_image(wharf, ecr, skopeo, tmp_path):
    repo = "team/blog-api"  # nested names are the norm in ECR
    ecr.create_repository(repo)
    image = write_oci_image(tmp_path / "src", VERSION_TAG, LAYER_SIZES, seed="blog-api-v1")
    sha_tag = git_sha_like("blog-api-v1")
    started = dt.datetime.now(dt.timezone.utc)

    push(skopeo, ecr, image, repo, VERSION_TAG)
    # The same image again, under the commit SHA (as CI does): every blob is already there.
    push(skopeo, ecr, image, repo, sha_tag)

    info = skopeo.inspect(docker_ref(ecr, repo, VERSION_TAG), ecr.creds)
    assert info["Digest"] == image.digest, info
    assert info["Layers"] == image.layer_digests, info
    assert set(info["RepoTags"]) == {VERSION_TAG, sha_tag}, info
    assert info["Architecture"] == "amd64" and info["Os"] == "linux", info
    assert info["Labels"] == {"org.wharf.test": "blog-api-v1"}, info
    # The registry serves the manifest byte for byte as pushed (its digest depends on it).
    raw = skopeo.inspect(docker_ref(ecr, repo, sha_tag), ecr.creds, raw=True)
    assert raw.encode() == image.manifest_bytes

    # Out again, by tag and by digest, into fresh OCI layouts: same manifest, same layers.
    for n, reference in enumerate([VERSION_TAG, image.digest]):
        out = tmp_path / f"pulled{n}"
        skopeo.copy(docker_ref(ecr, repo, reference), f"oci:{out}:pulled", src_creds=ecr.creds)
        desc, manifest = read_oci_layout(out, "pulled")
        assert desc.digest == image.digest, f"pull by {reference}"
        assert [layer["digest"] for layer in manifest["layers"]] == image.layer_digests
        assert [layer["size"] for layer in manifest["layers"]] == [layer.size for layer in image.layers]
        verify_oci_blobs(out, image.blob_digests)

    # The ECR API sees one image with both tags.
    ids = ecr.client.list_images(repositoryName=repo)["imageIds"]
    assert sorted(ids, key=lambda i: i["imageTag"]) == sorted(
        [{"imageDigest": image.digest, "imageTag": VERSION_TAG}, {"imageDigest": image.digest, "imageTag": sha_tag}],
        key=lambda i: i["imageTag"],
    )
    details = wharf.aws("ecr", "describe-images", "--repository-name", repo, cli="v2").json["imageDetails"]
    assert len(details) == 1, details
    detail = details[0]
    assert detail["registryId"] == ACCOUNT_ID and detail["repositoryName"] == repo, detail
    assert detail["imageDigest"] == image.digest
    assert sorted(detail["imageTags"]) == sorted([VERSION_TAG, sha_tag])
    assert detail["imageManifestMediaType"] == MT_OCI_MANIFEST
    assert detail["artifactMediaType"] == MT_OCI_CONFIG
    layers_size = sum(layer.size for layer in image.layers)
    assert layers_size <= detail["imageSizeInBytes"] <= layers_size + image.config.size + len(image.manifest_bytes), (
        f"imageSizeInBytes {detail['imageSizeInBytes']}: the compressed layers are {layers_size} bytes"
    )
    pushed_at = as_datetime(detail["imagePushedAt"])
    now = dt.datetime.now(dt.timezone.utc)
    assert started - dt.timedelta(seconds=5) <= pushed_at <= now + dt.timedelta(seconds=5), (started, pushed_at, now)

    # describe-images by tag, and the seeds' --query idiom.
    digest = wharf.aws(
        "ecr", "describe-images", "--repository-name", repo, "--image-ids", f"imageTag={sha_tag}",
        "--query", "imageDetails[0].imageDigest", "--output", "text", cli="v1",
    ).stdout.strip()
    assert digest == image.digest

    # batch-get-image returns the manifest as pushed, by tag and by digest; unknown tags are failures.
    got = wharf.aws(
        "ecr", "batch-get-image", "--repository-name", repo,
        "--image-ids", f"imageTag={VERSION_TAG}", "imageTag=no-such-tag", cli="v2",
    ).json
    assert len(got["images"]) == 1, got
    assert got["images"][0]["imageId"] == {"imageDigest": image.digest, "imageTag": VERSION_TAG}
    assert got["images"][0]["imageManifest"] == image.manifest_bytes.decode()
    assert got["images"][0]["imageManifestMediaType"] == MT_OCI_MANIFEST
    assert got["failures"] == [
        {"imageId": {"imageTag": "no-such-tag"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
    ], got
    by_digest = ecr.client.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": image.digest}])
    assert json.loads(by_digest["images"][0]["imageManifest"]) == json.loads(image.manifest_bytes)

    # Removing one tag keeps the image; removing the last one deletes it.
    out = ecr.client.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": sha_tag}])
    assert out["imageIds"] == [{"imageDigest": image.digest, "imageTag": sha_tag}] and not out["failures"], out
    assert ecr.tags_by_digest(repo) == {image.digest: {VERSION_TAG}}
    ecr.client.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": VERSION_TAG}])
    assert ecr.image_details(repo) == []
    response = ecr.registry.get_manifest(repo, image.digest)
    assert_registry_error(response, 404, "MANIFEST_UNKNOWN")


def test_multi_arch_index_push_and_pull(wharf, ecr, skopeo, tmp_path):
    repo = "blog-api"
    ecr.create_repository(repo)
    index = write_oci_index(tmp_path / "src", "multi")
    push(skopeo, ecr, index, repo, "multi", all_images=True)

    raw = skopeo.inspect(docker_ref(ecr, repo, "multi"), ecr.creds, raw=True)
    assert raw.encode() == index.index_bytes

    details = {d["imageDigest"]: d for d in ecr.image_details(repo)}
    assert details[index.digest]["imageTags"] == ["multi"], details
    assert details[index.digest]["imageManifestMediaType"] == MT_OCI_INDEX
    # The platform images are in the repository too, untagged (as ECR lists them).
    for child in index.images:
        assert child.digest in details, f"child manifest {child.digest} not in describe-images: {details}"
        assert not details[child.digest].get("imageTags"), details[child.digest]
        assert details[child.digest]["imageManifestMediaType"] == MT_OCI_MANIFEST

    # Everything back out.
    out = tmp_path / "all"
    skopeo.copy(docker_ref(ecr, repo, "multi"), f"oci:{out}:multi", src_creds=ecr.creds, all_images=True)
    desc, got = read_oci_layout(out, "multi")
    assert desc.digest == index.digest
    assert [m["digest"] for m in got["manifests"]] == [i.digest for i in index.images]
    verify_oci_blobs(out, [d for i in index.images for d in [i.digest, *i.blob_digests]])

    # One platform, chosen by the client from the index.
    arm = next(i for i in index.images if i.platform["architecture"] == "arm64")
    out = tmp_path / "arm64"
    skopeo.run(
        "--override-arch", "arm64", "--override-variant", "v8",
        "copy", "--src-tls-verify=false", "--src-creds", ecr.creds,
        docker_ref(ecr, repo, "multi"), f"oci:{out}:arm64",
    )
    desc, manifest = read_oci_layout(out, "arm64")
    assert desc.digest == arm.digest
    verify_oci_blobs(out, arm.blob_digests)

    got = ecr.client.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "multi"}])["images"]
    assert got[0]["imageManifest"] == index.index_bytes.decode()
    assert got[0]["imageManifestMediaType"] == MT_OCI_INDEX


def test_immutable_tags_are_not_overwritten(wharf, ecr, skopeo, tmp_path):
    repo = "ai-assistant"
    ecr.create_repository(repo, imageTagMutability="IMMUTABLE")
    first = write_oci_image(tmp_path / "a", "v1", (64 * 1024, 1024), seed="immutable-a")
    second = write_oci_image(tmp_path / "b", "v1", (64 * 1024, 1024), seed="immutable-b")
    assert first.digest != second.digest

    push(skopeo, ecr, first, repo, "v1")
    refused = push(skopeo, ecr, second, repo, "v1", check=False)
    assert refused.returncode != 0, "pushing another image to an existing immutable tag succeeded"
    text = refused.stderr.lower()
    assert ("tag_invalid" in text or "tag invalid" in text) and "v1" in text, refused.stderr

    # The tag still names the first image, for the registry and for the API.
    assert skopeo.inspect(docker_ref(ecr, repo, "v1"), ecr.creds)["Digest"] == first.digest
    details = ecr.client.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert [d["imageDigest"] for d in details] == [first.digest]

    # Raw: the registry's error code.
    response = ecr.registry.put_manifest(repo, "v1", second.manifest_bytes, MT_OCI_MANIFEST)
    assert_registry_error(response, 400, "TAG_INVALID")
    # The API's: PutImage of another manifest under the tag.
    with pytest.raises(ecr.client.exceptions.ImageTagAlreadyExistsException):
        ecr.client.put_image(
            repositoryName=repo, imageTag="v1", imageManifest=second.manifest_bytes.decode(),
            imageManifestMediaType=MT_OCI_MANIFEST,
        )
    assert ecr.tags_by_digest(repo)[first.digest] == {"v1"}

    # New tags are fine, for either image.
    push(skopeo, ecr, second, repo, "v2")
    push(skopeo, ecr, first, repo, git_sha_like("immutable-a"))
    assert ecr.tags_by_digest(repo) == {first.digest: {"v1", git_sha_like("immutable-a")}, second.digest: {"v2"}}


# ---------------------------------------------------------------------------------------
# Lifecycle policies and garbage collection (a server with short periods)
# ---------------------------------------------------------------------------------------

LIFECYCLE_INTERVAL_S, GC_INTERVAL_S, GC_GRACE_S = 1, 1, 2
LIFECYCLE_FLAGS = (
    "--ecr-lifecycle-interval-seconds", str(LIFECYCLE_INTERVAL_S),
    "--registry-gc-interval-seconds", str(GC_INTERVAL_S),
    "--registry-gc-grace-seconds", str(GC_GRACE_S),
)


def files_named(root: Path, digest: str) -> list[Path]:
    hexa = digest.split(":", 1)[1]
    return [p for p in root.rglob("*") if hexa in p.name]


def test_lifecycle_policy_expires_images_and_gc_reclaims_blobs(wharf_factory, skopeo, tmp_path):
    wharf = wharf_factory(*LIFECYCLE_FLAGS)
    ecr = Ecr(wharf)
    repo, web = "ai-assistant", "web-api"
    ecr.create_repository(repo)
    ecr.create_repository(web)

    # ai-assistant: four images, one layer shared by all, one layer and a config of their own.
    # web-api: prod-*, dev-* and untagged images, interleaved, for rules with tag prefixes,
    # untagged images and sinceImagePushed.
    web_plan = ["prod-1", "dev-1", None, "prod-2", "dev-2", None, "prod-3"]
    images, web_images = [], {}
    for n in range(1, len(web_plan) + 1):
        if n > 1:
            # Distinct push times even with one-second timestamps: each round in a new second.
            previous = time.time()
            wait_until(lambda: int(time.time()) > int(previous), "the next second", deadline=2, interval=0.02)
        if n <= 4:
            image = write_oci_image(
                tmp_path / "src", f"build-{n}", (32 * 1024, 8 * 1024), seed=f"lifecycle-{n}",
                layer_seeds=["lifecycle-shared", f"lifecycle-own-{n}"],
            )
            push(skopeo, ecr, image, repo, f"build-{n}")
            images.append(image)
        tag = web_plan[n - 1]
        image = write_oci_image(tmp_path / "web", f"w{n}", (2048,), seed=f"web-{n}")
        # Untagged images are pushed by digest only.
        push(skopeo, ecr, image, web, tag or image.digest)
        web_images[tag or f"untagged-{n}"] = image
    shared = images[0].layer_digests[0]
    assert all(i.layer_digests[0] == shared for i in images)
    for name, expected in [(repo, [i.digest for i in images]), (web, [i.digest for i in web_images.values()])]:
        pushed = {d["imageDigest"]: as_datetime(d["imagePushedAt"]) for d in ecr.image_details(name)}
        assert sorted(pushed, key=pushed.get) == expected, f"{name}: imagePushedAt does not follow the push order: {pushed}"

    # Before: every blob is in the registry (and, with a content-addressed layout, on disk).
    registry = ecr.registry
    for image in images:
        for digest in image.blob_digests:
            assert registry.head_blob(repo, digest).status == 200, digest
    on_disk = bool(files_named(wharf.data_dir, images[0].layer_digests[1]))

    # The seeds' policy shape, keeping 2.
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep last 2 images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
                "action": {"type": "expire"},
            }
        ]
    }
    wharf.aws(
        "ecr", "put-lifecycle-policy", "--repository-name", repo,
        "--lifecycle-policy-text", wharf.write_json("policy.json", policy), cli="v2",
    )

    web_policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep the last 2 production images",
                "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"],
                              "countType": "imageCountMoreThan", "countNumber": 2},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "Keep 1 untagged image",
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 3,
                "description": "Dev images go after a day",
                "selection": {"tagStatus": "tagged", "tagPrefixList": ["dev"],
                              "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
                "action": {"type": "expire"},
            },
        ]
    }
    ecr.client.put_lifecycle_policy(repositoryName=web, lifecyclePolicyText=json.dumps(web_policy))

    kept, expired = images[2:], images[:2]
    wait_until(
        lambda: set(ecr.tags_by_digest(repo)) == {i.digest for i in kept} or None,
        "the lifecycle policy to expire the two oldest images",
        deadline=60,
        interval=0.25,
    )
    web_kept = {"prod-2", "prod-3", "dev-1", "dev-2", "untagged-6"}
    wait_until(
        lambda: set(ecr.tags_by_digest(web)) == {web_images[k].digest for k in web_kept} or None,
        "web-api's policy to expire prod-1 and the older untagged image (and nothing else)",
        deadline=30,
        interval=0.25,
    )
    assert ecr.tags_by_digest(web) == {
        web_images[k].digest: (set() if k.startswith("untagged") else {k}) for k in web_kept
    }
    assert ecr.tags_by_digest(repo) == {i.digest: {i.tag} for i in kept}
    ids = ecr.client.list_images(repositoryName=repo)["imageIds"]
    assert sorted(i["imageTag"] for i in ids) == ["build-3", "build-4"]
    got = ecr.client.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "build-1"}])
    assert got["images"] == [] and got["failures"][0]["failureCode"] == "ImageNotFound", got
    for image in expired:
        assert_registry_error(registry.get_manifest(repo, image.tag), 404, "MANIFEST_UNKNOWN")
        assert_registry_error(registry.get_manifest(repo, image.digest), 404, "MANIFEST_UNKNOWN")
    policy_state = ecr.client.get_lifecycle_policy(repositoryName=repo)
    assert policy_state.get("lastEvaluatedAt"), policy_state

    # GC: the blobs only the expired images used go; shared and kept ones stay. A HEAD that
    # finds a blob vouches for it (the collector then keeps it for the grace period, as a push
    # in progress may use it), so poll the disk when blobs are files named by digest, and HEAD
    # only every grace + 2 GC periods otherwise.
    gone = [d for i in expired for d in [i.config.digest, i.layer_digests[1]]]
    if on_disk:
        wait_until(
            lambda: not any(files_named(wharf.data_dir, d) for d in gone),
            f"garbage collection to delete {gone} from disk",
            deadline=60,
            interval=0.25,
        )
    else:
        wait_until(
            lambda: all(registry.head_blob(repo, d).status == 404 for d in gone),
            f"garbage collection to reclaim {gone}",
            deadline=60,
            interval=GC_GRACE_S + 2 * GC_INTERVAL_S,
        )
    for digest in gone:
        response = registry.head_blob(repo, digest)
        assert response.status == 404, f"GC reclaimed {digest}, but HEAD still finds it\n" + response.describe()
    for image in kept:
        for digest in image.blob_digests:
            response = registry.head_blob(repo, digest)
            assert response.status == 200, f"GC removed {digest}, which {image.tag} uses\n" + response.describe()
    if on_disk:
        for digest in kept[0].blob_digests:
            assert files_named(wharf.data_dir, digest), f"{digest} of a kept image is gone from disk"
    # The kept images still pull completely.
    out = tmp_path / "pulled"
    skopeo.copy(docker_ref(ecr, repo, "build-3"), f"oci:{out}:x", src_creds=ecr.creds)
    verify_oci_blobs(out, kept[0].blob_digests)


# ---------------------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------------------


def test_registry_auth_challenge_and_refusals(wharf, ecr, skopeo, tmp_path):
    ecr.create_repository("blog-api")
    pushed = ecr.registry.push_small_image("blog-api", "v1", seed="auth")
    anonymous = Registry(wharf.endpoint, None, None)

    challenge = anonymous.request("GET", "/v2/")
    assert_registry_error(challenge, 401, "UNAUTHORIZED")
    assert challenge.headers.get("www-authenticate", "").startswith("Basic realm="), challenge.describe()
    assert challenge.headers.get("docker-distribution-api-version") == "registry/2.0", challenge.describe()

    ok = ecr.registry.request("GET", "/v2/")
    assert ok.status == 200, ok.describe()
    assert ok.headers.get("docker-distribution-api-version") == "registry/2.0", ok.describe()

    for who, client in [
        ("no credentials", anonymous),
        ("a wrong password", anonymous.with_credentials("AWS", ecr.password[:-2] + "xx")),
        ("another user name", anonymous.with_credentials("admin", ecr.password)),
        ("the AWS secret key", anonymous.with_credentials("AWS", wharf.credentials[1])),
    ]:
        for method, path in [
            ("GET", "/v2/"),
            ("GET", f"/v2/blog-api/manifests/{pushed['digest']}"),
            ("HEAD", f"/v2/blog-api/blobs/{pushed['layer']}"),
            ("GET", "/v2/blog-api/tags/list"),
            ("POST", "/v2/blog-api/blobs/uploads/"),
        ]:
            response = client.request(method, path)
            assert response.status == 401, f"{method} {path} with {who}\n" + response.describe()
            if method != "HEAD":
                assert set(registry_error_codes(response)) & {"UNAUTHORIZED", "DENIED"}, response.describe()

    # skopeo with a wrong password, both ways.
    image = write_oci_image(tmp_path / "src", "v2", (4096,), seed="auth-skopeo")
    refused = skopeo.copy(image.ref, docker_ref(ecr, "blog-api", "v2"), dest_creds="AWS:wrong", check=False)
    assert refused.returncode != 0
    assert any(w in refused.stderr.lower() for w in ("unauthorized", "authentication required", "denied")), (
        refused.stderr
    )
    refused = skopeo.inspect(docker_ref(ecr, "blog-api", "v1"), "AWS:wrong", check=False)
    assert refused.returncode != 0, refused.stdout
    assert [i["imageTag"] for i in ecr.client.list_images(repositoryName="blog-api")["imageIds"]] == ["v1"]


def test_push_to_missing_repository_is_name_unknown(wharf, ecr, skopeo, tmp_path):
    image = write_oci_image(tmp_path / "src", "v1", (4096,), seed="missing")
    refused = push(skopeo, ecr, image, "not-created", "v1", check=False)
    assert refused.returncode != 0, "push to a repository that does not exist succeeded"
    assert "name unknown" in refused.stderr.lower() or "name_unknown" in refused.stderr.lower(), refused.stderr

    response = ecr.registry.start_upload("not-created")
    assert_registry_error(response, 404, "NAME_UNKNOWN")
    layer = make_layer_blob(1024, "missing")
    config = make_config_blob([layer.digest])
    response = ecr.registry.put_manifest(
        "not-created", "v1", image_manifest(config.descriptor, [layer.descriptor]), MT_OCI_MANIFEST
    )
    assert_registry_error(response, 404, "NAME_UNKNOWN")
    # ECR does not create repositories on push.
    with pytest.raises(ecr.client.exceptions.RepositoryNotFoundException):
        ecr.client.describe_repositories(repositoryNames=["not-created"])


# ---------------------------------------------------------------------------------------
# Bad input, raw HTTP
# ---------------------------------------------------------------------------------------


def test_wrong_digest_is_digest_invalid_and_nothing_stored(ecr):
    ecr.create_repository("blog-api")
    registry = ecr.registry
    data = random_bytes(64 * 1024, "wrong-digest")
    claimed = sha256(b"something else")

    # Monolithic: POST, then PUT ?digest= with the bytes.
    start = registry.start_upload("blog-api")
    assert start.status == 202, start.describe()
    response = registry.request(
        "PUT", registry.add_query(start.headers["location"], digest=claimed), data,
        {"Content-Type": "application/octet-stream"},
    )
    assert_registry_error(response, 400, "DIGEST_INVALID")
    # Not a digest at all.
    start = registry.start_upload("blog-api")
    response = registry.request(
        "PUT", registry.add_query(start.headers["location"], digest="sha256:not-hex"), data,
        {"Content-Type": "application/octet-stream"},
    )
    assert_registry_error(response, 400, ("DIGEST_INVALID", "BLOB_UPLOAD_INVALID"))
    # Chunked, with the wrong digest on the closing PUT.
    start = registry.start_upload("blog-api")
    patched = registry.request(
        "PATCH", start.headers["location"], data,
        {"Content-Type": "application/octet-stream", "Content-Range": f"0-{len(data) - 1}"},
    )
    assert patched.status == 202, patched.describe()
    response = registry.request("PUT", registry.add_query(patched.headers["location"], digest=claimed))
    assert_registry_error(response, 400, "DIGEST_INVALID")

    for digest in (claimed, sha256(data)):
        response = registry.head_blob("blog-api", digest)
        assert response.status == 404, f"{digest} was stored\n" + response.describe()
        assert_registry_error(registry.request("GET", f"/v2/blog-api/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_manifest_naming_a_missing_blob_is_refused(ecr):
    ecr.create_repository("blog-api")
    registry = ecr.registry
    layer = make_layer_blob(8 * 1024, "present")
    missing = make_layer_blob(8 * 1024, "never uploaded")
    config = make_config_blob([layer.digest, missing.digest])
    registry.upload_blob("blog-api", layer.data)
    registry.upload_blob("blog-api", config.data)
    manifest = image_manifest(config.descriptor, [layer.descriptor, missing.descriptor])
    response = registry.put_manifest("blog-api", "v1", manifest, MT_OCI_MANIFEST)
    assert_registry_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    # The missing config alone is refused too.
    lonely = make_config_blob([layer.digest], label="config never uploaded")
    response = registry.put_manifest(
        "blog-api", "v2", image_manifest(lonely.descriptor, [layer.descriptor]), MT_OCI_MANIFEST
    )
    assert_registry_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    # An index naming a manifest the repository does not have.
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
            {"mediaType": MT_OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
             "platform": {"architecture": "amd64", "os": "linux"}}]}
    ).encode()
    response = registry.put_manifest("blog-api", "multi", index, MT_OCI_INDEX)
    # The spec's code-5 covers both: "manifest references a manifest or blob unknown to registry".
    assert_registry_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    # Not a manifest.
    response = registry.put_manifest("blog-api", "v3", b'{"schemaVersion": 2, "layers": "nope"}', MT_OCI_MANIFEST)
    assert_registry_error(response, 400, "MANIFEST_INVALID")

    for tag in ("v1", "v2", "multi", "v3"):
        assert_registry_error(registry.get_manifest("blog-api", tag), 404, "MANIFEST_UNKNOWN")
    assert ecr.client.list_images(repositoryName="blog-api")["imageIds"] == []


def test_invalid_repository_names_and_tags(ecr):
    ecr.create_repository("blog-api")
    registry = ecr.registry
    pushed = registry.push_small_image("blog-api", "v1", seed="names")
    manifest = pushed["manifest"]

    for name in ("Blog-API", "blog-api-", "team//api"):
        response = registry.start_upload(name)
        assert_registry_error(response, (400, 404), "NAME_INVALID")
        response = registry.put_manifest(name, "v1", manifest, MT_OCI_MANIFEST)
        assert_registry_error(response, (400, 404), "NAME_INVALID")

    # ECR allows tags of up to 300 characters (the API's ImageTag), more than Docker's 128.
    for tag in ("-leading-dash", ".leading-dot", "x" * 301):
        response = registry.put_manifest("blog-api", tag, manifest, MT_OCI_MANIFEST)
        assert_registry_error(response, 400, "TAG_INVALID")
    assert [i["imageTag"] for i in ecr.client.list_images(repositoryName="blog-api")["imageIds"]] == ["v1"]


def test_oversized_manifest_is_refused(ecr):
    ecr.create_repository("blog-api")
    registry = ecr.registry
    pushed = registry.push_small_image("blog-api", "v1", seed="big-manifest")
    doc = json.loads(pushed["manifest"])
    doc["annotations"] = {"org.wharf.padding": "x" * (5 * 1024 * 1024)}
    body = json.dumps(doc).encode()
    assert len(body) > 5 * 1024 * 1024
    response = registry.put_manifest("blog-api", "huge", body, MT_OCI_MANIFEST)
    assert response.status in (400, 413), response.describe()
    if response.status == 400 or response.body:
        assert set(registry_error_codes(response)) & {"MANIFEST_INVALID", "SIZE_INVALID"}, response.describe()
    assert_registry_error(registry.get_manifest("blog-api", "huge"), 404, "MANIFEST_UNKNOWN")
    assert registry.get_manifest("blog-api", sha256(body)).status == 404


def test_abandoned_cancelled_and_interrupted_uploads_leave_no_blob(ecr):
    ecr.create_repository("blog-api")
    registry = ecr.registry
    data = random_bytes(200 * 1024, "chunked")
    half = len(data) // 2

    # Chunked upload, spec-style: POST, PATCH with Content-Range, status, then abandoned.
    start = registry.start_upload("blog-api")
    assert start.status == 202, start.describe()
    assert start.headers.get("docker-upload-uuid"), start.describe()
    assert start.headers.get("location"), start.describe()
    patched = registry.request(
        "PATCH", start.headers["location"], data[:half],
        {"Content-Type": "application/octet-stream", "Content-Range": f"0-{half - 1}"},
    )
    assert patched.status == 202, patched.describe()
    assert patched.headers.get("range") == f"0-{half - 1}", patched.describe()
    status = registry.request("GET", patched.headers["location"])
    assert status.status == 204 and status.headers.get("range") == f"0-{half - 1}", status.describe()
    # A chunk that does not continue where the upload stands.
    out_of_order = registry.request(
        "PATCH", patched.headers["location"], data[half + 10 :],
        {"Content-Type": "application/octet-stream", "Content-Range": f"{half + 10}-{len(data) - 1}"},
    )
    assert out_of_order.status == 416, out_of_order.describe()
    for digest in (sha256(data), sha256(data[:half])):
        assert registry.head_blob("blog-api", digest).status == 404, f"partial upload visible as {digest}"

    # Cancelled: DELETE, after which the session is unknown.
    start = registry.start_upload("blog-api")
    patched = registry.request(
        "PATCH", start.headers["location"], data[:half],
        {"Content-Type": "application/octet-stream", "Content-Range": f"0-{half - 1}"},
    )
    cancelled = registry.request("DELETE", patched.headers["location"])
    assert cancelled.status == 204, cancelled.describe()
    assert_registry_error(registry.request("GET", patched.headers["location"]), 404, "BLOB_UPLOAD_UNKNOWN")
    response = registry.request(
        "PUT", registry.add_query(patched.headers["location"], digest=sha256(data)), data[half:],
        {"Content-Type": "application/octet-stream"},
    )
    assert_registry_error(response, 404, "BLOB_UPLOAD_UNKNOWN")

    # Interrupted: the client announces 200 KiB and hangs up after 50 KiB.
    start = registry.start_upload("blog-api")
    location = registry.add_query(start.headers["location"], digest=sha256(data))
    url = urllib.parse.urlsplit(location)
    path = (url.path + "?" + url.query) if url.scheme else location
    with socket.create_connection((registry.host, registry.port), timeout=10) as sock:
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {registry.netloc}\r\n"
            f"Authorization: {registry.auth_header()['Authorization']}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: 50 * 1024])
    for digest in (sha256(data), sha256(data[: 50 * 1024])):
        assert registry.head_blob("blog-api", digest).status == 404, f"interrupted upload visible as {digest}"

    # The same bytes, chunked properly: two PATCHes and a closing PUT.
    start = registry.start_upload("blog-api")
    first = registry.request(
        "PATCH", start.headers["location"], data[:half],
        {"Content-Type": "application/octet-stream", "Content-Range": f"0-{half - 1}"},
    )
    second = registry.request(
        "PATCH", first.headers["location"], data[half:],
        {"Content-Type": "application/octet-stream", "Content-Range": f"{half}-{len(data) - 1}"},
    )
    assert second.status == 202 and second.headers.get("range") == f"0-{len(data) - 1}", second.describe()
    done = registry.request("PUT", registry.add_query(second.headers["location"], digest=sha256(data)))
    assert done.status == 201, done.describe()
    assert done.headers.get("docker-content-digest") == sha256(data), done.describe()
    assert done.headers.get("location"), done.describe()
    head = registry.head_blob("blog-api", sha256(data))
    assert head.status == 200 and head.headers.get("content-length") == str(len(data)), head.describe()
    assert head.headers.get("docker-content-digest") == sha256(data), head.describe()
    got = registry.request("GET", f"/v2/blog-api/blobs/{sha256(data)}")
    assert got.status == 200 and got.body == data


def test_cross_repository_mount(ecr):
    ecr.create_repository("team/base")
    ecr.create_repository("team/app")
    registry = ecr.registry
    data = random_bytes(32 * 1024, "mount")
    digest = registry.upload_blob("team/base", data)

    mounted = registry.request("POST", f"/v2/team/app/blobs/uploads/?mount={digest}&from=team/base")
    assert mounted.status == 201, mounted.describe()
    assert mounted.headers.get("docker-content-digest") == digest, mounted.describe()
    assert mounted.headers.get("location"), mounted.describe()
    head = registry.head_blob("team/app", digest)
    assert head.status == 200 and head.headers.get("content-length") == str(len(data)), head.describe()

    # A blob the source does not have: no mount, an ordinary upload session instead.
    unknown = sha256(b"not anywhere")
    fallback = registry.request("POST", f"/v2/team/app/blobs/uploads/?mount={unknown}&from=team/base")
    assert fallback.status == 202 and fallback.headers.get("location"), fallback.describe()
    assert registry.head_blob("team/app", unknown).status == 404


def test_blob_ranges_tags_list_and_catalog_pagination(ecr):
    registry = ecr.registry
    for name in ("api-a", "api-b", "team/api-c"):
        ecr.create_repository(name)
    data = random_bytes(10_000, "range")
    digest = registry.upload_blob("api-a", data)

    ranged = registry.request("GET", f"/v2/api-a/blobs/{digest}", headers={"Range": "bytes=100-1099"})
    assert ranged.status == 206, ranged.describe()
    assert ranged.body == data[100:1100]
    assert ranged.headers.get("content-range") == f"bytes 100-1099/{len(data)}", ranged.describe()

    tags = ["v1", "v2", "v3", git_sha_like("tags")]
    first = registry.push_small_image("api-a", tags[0], seed="tags")
    for tag in tags[1:]:
        response = registry.put_manifest("api-a", tag, first["manifest"], MT_OCI_MANIFEST)
        assert response.status == 201, response.describe()

    def paginate(path: str, key: str) -> list[str]:
        seen: list[str] = []
        for _ in range(20):
            response = registry.request("GET", path)
            assert response.status == 200, response.describe()
            page = response.json()[key]
            assert len(page) <= 2, f"n=2 but got {page}"
            seen += page
            link = response.headers.get("link")
            if not link:
                return seen
            assert 'rel="next"' in link, link
            path = link[link.index("<") + 1 : link.index(">")]
        raise AssertionError(f"pagination of {path} did not end")

    everything = registry.request("GET", "/v2/api-a/tags/list").json()
    assert everything["name"] == "api-a" and sorted(everything["tags"]) == sorted(tags), everything
    assert sorted(paginate("/v2/api-a/tags/list?n=2", "tags")) == sorted(tags)
    assert sorted(paginate("/v2/_catalog?n=2", "repositories")) == ["api-a", "api-b", "team/api-c"]
