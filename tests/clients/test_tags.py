"""ListTags, TagResource and UntagResource on user and ACL ARNs, with boto3."""

from __future__ import annotations

import pytest

from support import acl_arn, fault, new_name, password_mode, tags, user_arn


@pytest.fixture
def tagged_user(memorydb, password):
    name = new_name("tagged")
    arn = memorydb.create_user(
        UserName=name,
        AuthenticationMode=password_mode(password()),
        AccessString="on ~* +@all",
        Tags=tags(("team", "blue"), ("env", "test")),
    )["User"]["ARN"]
    assert arn == user_arn(name)
    return arn


def test_tags_given_at_creation_are_listed(memorydb, tagged_user):
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == tags(
        ("team", "blue"), ("env", "test")
    )
    acl = new_name("tagged")
    arn = memorydb.create_acl(ACLName=acl, Tags=tags(("owner", "ops")))["ACL"]["ARN"]
    assert arn == acl_arn(acl)
    assert memorydb.list_tags(ResourceArn=arn)["TagList"] == tags(("owner", "ops"))


def test_untagged_resources_have_an_empty_list(memorydb, password):
    name = new_name("plain")
    memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
    )
    assert memorydb.list_tags(ResourceArn=user_arn(name))["TagList"] == []
    assert memorydb.list_tags(ResourceArn=user_arn("default"))["TagList"] == []
    assert memorydb.list_tags(ResourceArn=acl_arn("open-access"))["TagList"] == []


def test_tag_and_untag_answer_the_full_remaining_list(memorydb, tagged_user):
    answer = memorydb.tag_resource(
        ResourceArn=tagged_user, Tags=tags(("env", "prod"), ("cost", "42"))
    )
    expected = tags(("team", "blue"), ("env", "prod"), ("cost", "42"))
    assert answer["TagList"] == expected
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == expected

    answer = memorydb.untag_resource(ResourceArn=tagged_user, TagKeys=["team", "cost"])
    assert answer["TagList"] == tags(("env", "prod"))
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == tags(("env", "prod"))

    assert memorydb.untag_resource(ResourceArn=tagged_user, TagKeys=["env"])["TagList"] == []
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == []


def test_tags_on_an_acl(memorydb):
    acl = new_name("acltags")
    memorydb.create_acl(ACLName=acl)
    arn = acl_arn(acl)
    assert memorydb.tag_resource(ResourceArn=arn, Tags=tags(("a", "1")))["TagList"] == tags(("a", "1"))
    assert memorydb.tag_resource(ResourceArn=arn, Tags=tags(("b", "")))["TagList"] == tags(
        ("a", "1"), ("b", "")
    )
    assert memorydb.untag_resource(ResourceArn=arn, TagKeys=["a"])["TagList"] == tags(("b", ""))


def test_untagging_a_missing_key_is_tag_not_found_and_changes_nothing(memorydb, tagged_user):
    with fault(memorydb, "TagNotFoundFault", 404):
        memorydb.untag_resource(ResourceArn=tagged_user, TagKeys=["team", "no-such-key"])
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == tags(
        ("team", "blue"), ("env", "test")
    )


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:s3:::bucket",
        "arn:aws:memorydb:us-east-1:123:user/someone",
        "arn:aws:memorydb:us-east-1:000000000000:user/",
        "arn:aws:memorydb:us-east-1:000000000000:widget/thing",
    ],
)
def test_malformed_arns_are_invalid_arn_fault(memorydb, arn):
    with fault(memorydb, "InvalidARNFault", 400):
        memorydb.list_tags(ResourceArn=arn)
    with fault(memorydb, "InvalidARNFault", 400):
        memorydb.tag_resource(ResourceArn=arn, Tags=tags(("k", "v")))
    with fault(memorydb, "InvalidARNFault", 400):
        memorydb.untag_resource(ResourceArn=arn, TagKeys=["k"])


def test_arns_of_missing_resources(memorydb):
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.list_tags(ResourceArn=user_arn(new_name("nobody")))
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.tag_resource(ResourceArn=acl_arn(new_name("nothing")), Tags=tags(("k", "v")))


def test_bad_tags_are_refused(memorydb, tagged_user):
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.tag_resource(ResourceArn=tagged_user, Tags=tags(("aws:reserved", "v")))
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.tag_resource(ResourceArn=tagged_user, Tags=tags(("k" * 129, "v")))
    with fault(memorydb, "TagQuotaPerResourceExceeded", 400):
        memorydb.tag_resource(
            ResourceArn=tagged_user, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)]
        )
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == tags(
        ("team", "blue"), ("env", "test")
    )


def test_a_recreated_user_does_not_inherit_old_tags(memorydb, password, tagged_user):
    name = tagged_user.rsplit("/", 1)[1]
    memorydb.delete_user(UserName=name)
    memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
    )
    assert memorydb.list_tags(ResourceArn=tagged_user)["TagList"] == []
