"""Every resource lives in one (account, region): a twelve-digit access key id is the
account, the signing region is the region."""

from __future__ import annotations

from support import (
    DEFAULT_ACCOUNT,
    acl_arn,
    default_user,
    describe_user,
    fault,
    new_account_id,
    new_name,
    password_mode,
    tags,
    user_arn,
)

ALL = "on ~* +@all"


def test_users_and_acls_are_invisible_from_other_accounts_and_regions(make_client, password):
    account_a, account_b = new_account_id(), new_account_id()
    home = make_client(access_key_id=account_a, region="us-east-1")
    other_account = make_client(access_key_id=account_b, region="us-east-1")
    other_region = make_client(access_key_id=account_a, region="eu-west-1")
    default_account = make_client(region="us-east-1")

    user, acl = new_name("iso"), new_name("iso")
    created = home.create_user(
        UserName=user,
        AuthenticationMode=password_mode(password()),
        AccessString=ALL,
        Tags=tags(("k", "v")),
    )["User"]
    assert created["ARN"] == user_arn(user, account_a, "us-east-1")
    home.create_acl(ACLName=acl, UserNames=[user])

    for client in (other_account, other_region, default_account):
        with fault(client, "UserNotFoundFault", 404):
            client.describe_users(UserName=user)
        with fault(client, "ACLNotFoundFault", 404):
            client.describe_acls(ACLName=acl)
        assert user not in {u["Name"] for u in client.describe_users()["Users"]}
        assert acl not in {a["Name"] for a in client.describe_acls()["ACLs"]}
        with fault(client, "UserNotFoundFault", 404):
            client.delete_user(UserName=user)
        # The ARN names a resource of another account or region: nothing here.
        with fault(client, "UserNotFoundFault", 404):
            client.list_tags(ResourceArn=created["ARN"])
        with fault(client, "ACLNotFoundFault", 404):
            client.list_tags(ResourceArn=acl_arn(acl, account_a, "us-east-1"))

    # Other scopes are untouched and still start from the built-in state.
    assert other_account.describe_users()["Users"] == [default_user(account_b)]
    assert other_region.describe_users()["Users"] == [default_user(account_a, "eu-west-1")]
    assert describe_user(default_account, "default") == default_user(DEFAULT_ACCOUNT)
    assert describe_user(home, user)["ACLNames"] == [acl]


def test_the_same_name_can_exist_in_every_scope(make_client, password):
    name = new_name("same")
    account = new_account_id()
    scopes = [
        (account, "us-east-1"),
        (account, "eu-west-1"),
        (new_account_id(), "us-east-1"),
        (account, "ap-southeast-2"),
    ]
    for key, region in scopes:
        client = make_client(access_key_id=key, region=region)
        user = client.create_user(
            UserName=name, AuthenticationMode=password_mode(password()), AccessString=ALL
        )["User"]
        assert user["ARN"] == f"arn:aws:memorydb:{region}:{key}:user/{name}"
        acl = client.create_acl(ACLName=name, UserNames=[name])["ACL"]
        assert acl["ARN"] == f"arn:aws:memorydb:{region}:{key}:acl/{name}"

    # Deleting in one scope leaves the others alone.
    first = make_client(access_key_id=scopes[0][0], region=scopes[0][1])
    first.delete_user(UserName=name)
    first.delete_acl(ACLName=name)
    for key, region in scopes[1:]:
        client = make_client(access_key_id=key, region=region)
        assert describe_user(client, name)["ACLNames"] == [name]


def test_non_numeric_keys_share_the_default_account(make_client, password):
    name = new_name("shared")
    make_client(access_key_id="AKIAEXAMPLEONE").create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString=ALL
    )
    seen = describe_user(make_client(access_key_id="some-other-key"), name)
    assert seen["ARN"] == user_arn(name, DEFAULT_ACCOUNT)
    # An eleven- or thirteen-digit key is not an account id either.
    assert describe_user(make_client(access_key_id="12345678901"), name)["Name"] == name
    assert describe_user(make_client(access_key_id="1234567890123"), name)["Name"] == name
