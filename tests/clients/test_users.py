"""Users with boto3: creation, the default user, canonical access strings, rotation."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from support import (
    DEFAULT_ACCOUNT,
    default_user,
    describe_user,
    fault,
    new_name,
    open_access_acl,
    password_mode,
    user_arn,
)


def test_every_account_starts_with_the_default_user_and_open_access(fresh, fresh_account):
    assert fresh.describe_users()["Users"] == [default_user(fresh_account)]
    assert describe_user(fresh, "default") == default_user(fresh_account)
    assert fresh.describe_acls()["ACLs"] == [open_access_acl(fresh_account)]


def test_the_default_account_has_the_default_user(memorydb):
    assert describe_user(memorydb, "default") == default_user(DEFAULT_ACCOUNT)


def test_create_user_with_one_password(memorydb, password):
    name = new_name("alice")
    created = memorydb.create_user(
        UserName=name,
        AuthenticationMode=password_mode(password()),
        AccessString="~objects:* ~items:* ~public:*",
    )
    expected = {
        "Name": name,
        "Status": "active",
        "AccessString": "off ~objects:* ~items:* ~public:* resetchannels -@all",
        "ACLNames": [],
        "MinimumEngineVersion": "6.2",
        "Authentication": {"Type": "password", "PasswordCount": 1},
        "ARN": f"arn:aws:memorydb:us-east-1:000000000000:user/{name}",
    }
    assert created["User"] == expected
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert created["ResponseMetadata"]["RequestId"]
    assert describe_user(memorydb, name) == expected


def test_create_user_with_two_passwords_in_an_account_of_its_own(fresh, fresh_account, password):
    name = new_name("bob")
    user = fresh.create_user(
        UserName=name,
        AuthenticationMode=password_mode(password(), password(16)),
        AccessString="on ~* &* +@all",
    )["User"]
    assert user["Authentication"] == {"Type": "password", "PasswordCount": 2}
    assert user["AccessString"] == "on ~* &* +@all"
    assert user["ARN"] == f"arn:aws:memorydb:us-east-1:{fresh_account}:user/{name}"
    assert describe_user(fresh, name)["Authentication"] == {"Type": "password", "PasswordCount": 2}


def test_create_iam_user(memorydb):
    name = new_name("iam")
    user = memorydb.create_user(
        UserName=name,
        AuthenticationMode={"Type": "iam"},
        AccessString="on ~app:* +@read",
    )["User"]
    assert user == {
        "Name": name,
        "Status": "active",
        "AccessString": "on ~app:* resetchannels -@all +@read",
        "ACLNames": [],
        "MinimumEngineVersion": "7.0",
        "Authentication": {"Type": "iam"},
        "ARN": user_arn(name),
    }
    assert describe_user(memorydb, name) == user


def test_names_are_stored_in_lowercase(memorydb, password):
    name = new_name("MixedCase")
    user = memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
    )["User"]
    assert user["Name"] == name.lower()
    assert user["ARN"] == user_arn(name.lower())
    # Lookups ignore case; listings show the stored name.
    assert describe_user(memorydb, name)["Name"] == name.lower()
    assert describe_user(memorydb, name.upper())["Name"] == name.lower()
    # The same name in another case is the same user.
    with fault(memorydb, "UserAlreadyExistsFault", 400):
        memorydb.create_user(
            UserName=name.upper(),
            AuthenticationMode=password_mode(password()),
            AccessString="on ~* +@all",
        )


def test_name_length_limits(fresh):
    longest = (new_name("n") + "x" * 40)[:40]
    for name in ("n", longest):
        user = fresh.create_user(
            UserName=name, AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all"
        )["User"]
        assert user["Name"] == name
        acl = fresh.create_acl(ACLName=name, UserNames=[name])["ACL"]
        assert acl["Name"] == name
    with fault(fresh, "InvalidParameterValueException", 400):
        fresh.create_user(
            UserName=longest + "x", AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all"
        )
    with fault(fresh, "InvalidParameterValueException", 400):
        fresh.create_acl(ACLName=longest + "x")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("~objects:* ~items:* ~public:*", "off ~objects:* ~items:* ~public:* resetchannels -@all"),
        ("on ~* &* +@all", "on ~* &* +@all"),
        ("on ~app::* +@read", "on ~app::* resetchannels -@all +@read"),
        ("  ON   ~* +@ALL  ", "on ~* resetchannels +@all"),
        ("off ~objects:* ~items:* ~public:* resetchannels -@all",
         "off ~objects:* ~items:* ~public:* resetchannels -@all"),
    ],
)
def test_access_strings_are_stored_in_canonical_form(memorydb, password, given, stored):
    name = new_name("acc")
    user = memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString=given
    )["User"]
    assert user["AccessString"] == stored
    assert describe_user(memorydb, name)["AccessString"] == stored


def test_describe_users_filters(fresh, password):
    reader, writer = new_name("reader"), new_name("writer")
    for name, access in ((reader, "on ~* +@read"), (writer, "on ~* +@write")):
        fresh.create_user(
            UserName=name, AuthenticationMode=password_mode(password()), AccessString=access
        )
    by_name = fresh.describe_users(Filters=[{"Name": "UserName", "Values": [reader.upper()]}])
    assert [u["Name"] for u in by_name["Users"]] == [reader]
    by_access = fresh.describe_users(
        Filters=[{"Name": "access-string", "Values": ["on ~* +@write"]}]
    )
    assert [u["Name"] for u in by_access["Users"]] == [writer]
    both = fresh.describe_users(
        Filters=[{"Name": "UserName", "Values": [reader, writer, "default"]}]
    )
    assert sorted(u["Name"] for u in both["Users"]) == sorted([reader, writer, "default"])


def test_rotating_passwords_and_changing_access(memorydb, password):
    name = new_name("rotate")
    acl = new_name("rotacl")
    memorydb.create_user(
        UserName=name,
        AuthenticationMode=password_mode(password()),
        AccessString="on ~app:* +@read",
    )
    memorydb.create_acl(ACLName=acl, UserNames=[name])

    # Two passwords during a rotation.
    updated = memorydb.update_user(
        UserName=name, AuthenticationMode=password_mode(password(), password(128))
    )["User"]
    assert updated["Status"] == "modifying"
    assert updated["Authentication"] == {"Type": "password", "PasswordCount": 2}
    assert updated["AccessString"] == "on ~app:* resetchannels -@all +@read"
    assert updated["ACLNames"] == [acl]
    described = describe_user(memorydb, name)
    assert described["Status"] == "active"
    assert described["Authentication"] == {"Type": "password", "PasswordCount": 2}

    # Then down to the new one.
    updated = memorydb.update_user(UserName=name, AuthenticationMode=password_mode(password()))
    assert updated["User"]["Status"] == "modifying"
    assert updated["User"]["Authentication"] == {"Type": "password", "PasswordCount": 1}
    assert describe_user(memorydb, name)["Authentication"] == {"Type": "password", "PasswordCount": 1}

    # The access string alone; authentication is kept.
    updated = memorydb.update_user(UserName=name, AccessString="~objects:* ~items:* ~public:*")
    assert updated["User"]["Status"] == "modifying"
    assert updated["User"]["AccessString"] == "off ~objects:* ~items:* ~public:* resetchannels -@all"
    assert updated["User"]["Authentication"] == {"Type": "password", "PasswordCount": 1}
    described = describe_user(memorydb, name)
    assert described == {**updated["User"], "Status": "active"}

    # Both at once, switching to IAM.
    updated = memorydb.update_user(
        UserName=name, AuthenticationMode={"Type": "iam"}, AccessString="on ~* &* +@all"
    )["User"]
    assert updated["Authentication"] == {"Type": "iam"}
    assert updated["AccessString"] == "on ~* &* +@all"
    assert updated["ACLNames"] == [acl]


def test_passwords_never_appear_in_responses(memorydb, password, wire):
    """The autouse guard checks every response of every test; this one also drives the
    error paths where a careless server would echo what it was sent."""
    name = new_name("secret")
    mark = wire.mark()
    first, second = password(), password()
    memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(first, second), AccessString="on ~* +@all"
    )
    memorydb.update_user(UserName=name, AuthenticationMode=password_mode(password()))
    memorydb.describe_users()
    short = password(15)
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.update_user(UserName=name, AuthenticationMode=password_mode(short))
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.create_user(
            UserName=new_name("secret"),
            AuthenticationMode=password_mode(password(129)),
            AccessString="on ~* +@all",
        )
    with fault(memorydb, "InvalidParameterCombinationException", 400):
        memorydb.create_user(
            UserName=new_name("secret"),
            AuthenticationMode={"Type": "iam", "Passwords": [password()]},
            AccessString="on ~* +@all",
        )
    # A password written into the access string is refused without being repeated.
    inline = password()
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.update_user(UserName=name, AccessString=f"on >{inline} ~* +@all")
    # Three passwords.
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.update_user(
            UserName=name, AuthenticationMode=password_mode(password(), password(), password())
        )
    raw = wire.since(mark)
    assert raw, "the raw responses were recorded"
    assert '"PasswordCount":2' in raw.replace(" ", "")
    # No response carries anything password-like at all.
    for body in raw.splitlines():
        if body.strip():
            assert "Passwords" not in json.loads(body).get("User", {})


def test_a_mistyped_password_is_not_echoed(make_client):
    # boto3 refuses a non-string password unless parameter validation is off; a
    # hand-written client or another SDK may send one all the same.
    client = make_client(parameter_validation=False)
    secret = 8472615093847261509
    with pytest.raises(ClientError) as e:
        client.create_user(
            UserName=new_name("typed"),
            AuthenticationMode={"Type": "password", "Passwords": [secret]},
            AccessString="on ~* +@all",
        )
    error = e.value.response["Error"]
    assert error["Code"] == "SerializationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert str(secret) not in error["Message"], error["Message"]


def test_delete_user_answers_deleting_then_the_user_is_gone(memorydb, password):
    name = new_name("gone")
    memorydb.create_user(
        UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
    )
    deleted = memorydb.delete_user(UserName=name)["User"]
    assert deleted["Name"] == name
    assert deleted["Status"] == "deleting"
    assert deleted["Authentication"] == {"Type": "password", "PasswordCount": 1}
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.describe_users(UserName=name)
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.delete_user(UserName=name)
    # The name is free again.
    recreated = memorydb.create_user(
        UserName=name, AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all"
    )["User"]
    assert recreated["Authentication"] == {"Type": "iam"}
