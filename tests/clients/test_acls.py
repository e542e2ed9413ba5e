"""ACL membership with boto3: users' ACLNames follow every CreateACL, UpdateACL,
DeleteACL and DeleteUser."""

from __future__ import annotations

import pytest

from support import (
    DEFAULT_ACCOUNT,
    acl_arn,
    acl_names_of,
    describe_acl,
    describe_user,
    fault,
    new_name,
    open_access_acl,
    password_mode,
)


@pytest.fixture
def make_users(memorydb, password):
    def make(count: int) -> list[str]:
        names = sorted(new_name("m") for _ in range(count))
        for name in names:
            memorydb.create_user(
                UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
            )
        return names

    return make


def test_acl_membership_journey(memorydb, make_users):
    u1, u2, u3 = make_users(3)
    acl = new_name("acl")

    created = memorydb.create_acl(ACLName=acl, UserNames=[u2.upper(), u1])["ACL"]
    assert created == {
        "Name": acl,
        "Status": "creating",
        "UserNames": sorted([u1, u2]),
        "MinimumEngineVersion": "6.2",
        "Clusters": [],
        "ARN": f"arn:aws:memorydb:us-east-1:{DEFAULT_ACCOUNT}:acl/{acl}",
    }
    assert describe_acl(memorydb, acl) == {**created, "Status": "active"}
    assert acl_names_of(memorydb, u1) == [acl]
    assert acl_names_of(memorydb, u2) == [acl]
    assert acl_names_of(memorydb, u3) == []

    # Add u3.
    updated = memorydb.update_acl(ACLName=acl, UserNamesToAdd=[u3])["ACL"]
    assert updated["Status"] == "modifying"
    assert updated["UserNames"] == sorted([u1, u2, u3])
    assert updated["PendingChanges"] == {"UserNamesToAdd": [u3]}
    assert acl_names_of(memorydb, u3) == [acl]
    described = describe_acl(memorydb, acl)
    assert described["Status"] == "active"
    assert described["UserNames"] == sorted([u1, u2, u3])
    assert "PendingChanges" not in described

    # Remove u1 and add it back in one call is refused; remove u1 alone.
    with fault(memorydb, "InvalidParameterCombinationException", 400):
        memorydb.update_acl(ACLName=acl, UserNamesToAdd=[u1], UserNamesToRemove=[u1])
    updated = memorydb.update_acl(ACLName=acl, UserNamesToRemove=[u1])["ACL"]
    assert updated["Status"] == "modifying"
    assert updated["UserNames"] == sorted([u2, u3])
    assert updated["PendingChanges"] == {"UserNamesToRemove": [u1]}
    assert acl_names_of(memorydb, u1) == []

    # Deleting a member takes it out of the ACL.
    memorydb.delete_user(UserName=u2)
    assert describe_acl(memorydb, acl)["UserNames"] == [u3]

    # Deleting the ACL clears its members' ACLNames.
    deleted = memorydb.delete_acl(ACLName=acl)["ACL"]
    assert deleted["Name"] == acl
    assert deleted["Status"] == "deleting"
    assert deleted["UserNames"] == [u3]
    assert acl_names_of(memorydb, u3) == []
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.describe_acls(ACLName=acl)
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.delete_acl(ACLName=acl)


def test_a_user_in_several_acls(memorydb, make_users):
    (user,) = make_users(1)
    first, second = sorted([new_name("acl"), new_name("acl")])
    memorydb.create_acl(ACLName=second, UserNames=[user])
    memorydb.create_acl(ACLName=first)
    memorydb.update_acl(ACLName=first, UserNamesToAdd=[user])
    assert acl_names_of(memorydb, user) == [first, second]
    memorydb.delete_acl(ACLName=second)
    assert acl_names_of(memorydb, user) == [first]
    memorydb.delete_user(UserName=user)
    assert describe_acl(memorydb, first)["UserNames"] == []


def test_acls_may_be_empty_and_need_not_hold_default(memorydb):
    acl = new_name("empty")
    created = memorydb.create_acl(ACLName=acl.upper())["ACL"]
    assert created["Name"] == acl
    assert created["UserNames"] == []
    assert created["ARN"] == acl_arn(acl)
    assert describe_acl(memorydb, acl)["UserNames"] == []


def test_the_default_user_can_join_other_acls(memorydb):
    acl = new_name("withdefault")
    memorydb.create_acl(ACLName=acl, UserNames=["default"])
    assert describe_user(memorydb, "default")["ACLNames"] == sorted(["open-access", acl])
    memorydb.delete_acl(ACLName=acl)
    assert describe_user(memorydb, "default")["ACLNames"] == ["open-access"]


def test_open_access_cannot_be_deleted_or_modified(fresh, fresh_account, password):
    with fault(fresh, "InvalidParameterValueException", 400) as e:
        fresh.delete_acl(ACLName="open-access")
    assert e.value.response["Error"]["Message"] == "open-access ACL can't be deleted."
    user = new_name("oa")
    fresh.create_user(
        UserName=user, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
    )
    with fault(fresh, "InvalidParameterValueException", 400):
        fresh.update_acl(ACLName="open-access", UserNamesToAdd=[user])
    assert describe_acl(fresh, "open-access") == open_access_acl(fresh_account)


def test_acl_errors_change_nothing(memorydb, make_users):
    u1, u2 = make_users(2)
    acl = new_name("err")
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.create_acl(ACLName=acl, UserNames=[u1, new_name("nobody")])
    with fault(memorydb, "DuplicateUserNameFault", 400):
        memorydb.create_acl(ACLName=acl, UserNames=[u1, u1.upper()])
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.describe_acls(ACLName=acl)
    assert acl_names_of(memorydb, u1) == []

    memorydb.create_acl(ACLName=acl, UserNames=[u1])
    with fault(memorydb, "ACLAlreadyExistsFault", 400):
        memorydb.create_acl(ACLName=acl, UserNames=[u2])
    with fault(memorydb, "ACLAlreadyExistsFault", 400):
        memorydb.create_acl(ACLName="open-access")
    with fault(memorydb, "DuplicateUserNameFault", 400):
        memorydb.update_acl(ACLName=acl, UserNamesToAdd=[u1])
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.update_acl(ACLName=acl, UserNamesToRemove=[u2])
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.update_acl(ACLName=acl, UserNamesToAdd=[u2, new_name("nobody")])
    with fault(memorydb, "InvalidParameterCombinationException", 400):
        memorydb.update_acl(ACLName=acl)
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.update_acl(ACLName=new_name("nosuch"), UserNamesToAdd=[u2])
    assert describe_acl(memorydb, acl)["UserNames"] == [u1]
    assert acl_names_of(memorydb, u1) == [acl]
    assert acl_names_of(memorydb, u2) == []
