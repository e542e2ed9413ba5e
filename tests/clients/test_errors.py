"""Errors are typed: boto3 raises the modelled exception class with the right HTTP status,
and operations memshift does not emulate answer NotImplemented."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import fault, new_name, password_mode

ALL = "on ~* +@all"


@pytest.fixture
def existing(memorydb, password):
    """A user and an ACL holding it."""
    user, acl = new_name("err"), new_name("err")
    memorydb.create_user(UserName=user, AuthenticationMode=password_mode(password()), AccessString=ALL)
    memorydb.create_acl(ACLName=acl, UserNames=[user])
    return user, acl


def test_user_not_found_fault(memorydb):
    missing = new_name("nobody")
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.describe_users(UserName=missing)
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.update_user(UserName=missing, AccessString=ALL)
    with fault(memorydb, "UserNotFoundFault", 404):
        memorydb.delete_user(UserName=missing)


def test_user_already_exists_fault(memorydb, existing, password):
    user, _ = existing
    with fault(memorydb, "UserAlreadyExistsFault", 400):
        memorydb.create_user(UserName=user, AuthenticationMode={"Type": "iam"}, AccessString=ALL)
    with fault(memorydb, "UserAlreadyExistsFault", 400):
        memorydb.create_user(
            UserName="default", AuthenticationMode=password_mode(password()), AccessString=ALL
        )


def test_acl_not_found_fault(memorydb, existing):
    user, _ = existing
    missing = new_name("noacl")
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.describe_acls(ACLName=missing)
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.update_acl(ACLName=missing, UserNamesToAdd=[user])
    with fault(memorydb, "ACLNotFoundFault", 404):
        memorydb.delete_acl(ACLName=missing)


def test_acl_already_exists_fault(memorydb, existing):
    _, acl = existing
    with fault(memorydb, "ACLAlreadyExistsFault", 400):
        memorydb.create_acl(ACLName=acl)


def test_duplicate_user_name_fault(memorydb, existing):
    user, acl = existing
    with fault(memorydb, "DuplicateUserNameFault", 400):
        memorydb.create_acl(ACLName=new_name("dup"), UserNames=[user, user])
    with fault(memorydb, "DuplicateUserNameFault", 400):
        memorydb.update_acl(ACLName=acl, UserNamesToAdd=[user])


INVALID_VALUE_CASES = [
    ("name starting with a digit",
     lambda c, pw: c.create_user(UserName="1abc", AuthenticationMode=password_mode(pw()), AccessString=ALL)),
    ("name with an underscore",
     lambda c, pw: c.create_user(UserName="ab_c", AuthenticationMode=password_mode(pw()), AccessString=ALL)),
    ("name ending with a hyphen",
     lambda c, pw: c.create_user(UserName="abc-", AuthenticationMode=password_mode(pw()), AccessString=ALL)),
    ("name with two hyphens",
     lambda c, pw: c.create_user(UserName="a--b", AuthenticationMode=password_mode(pw()), AccessString=ALL)),
    ("name of 41 characters",
     lambda c, pw: c.create_user(UserName="a" * 41, AuthenticationMode=password_mode(pw()), AccessString=ALL)),
    ("password of 15 characters",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw(15)), AccessString=ALL)),
    ("password of 129 characters",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw(129)), AccessString=ALL)),
    ("three passwords",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw(), pw(), pw()), AccessString=ALL)),
    ("unknown authentication type",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode={"Type": "no-password"}, AccessString=ALL)),
    ("access string with nopass",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw()), AccessString="on nopass ~* +@all")),
    ("access string with reset",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw()), AccessString="reset on ~* +@all")),
    ("access string with a password hash",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw()), AccessString="on #0123abcd ~*")),
    ("access string of an unknown category",
     lambda c, pw: c.create_user(UserName=new_name(), AuthenticationMode=password_mode(pw()), AccessString="on ~* +@nosuch")),
    ("deleting the default user", lambda c, pw: c.delete_user(UserName="default")),
    ("modifying the default user", lambda c, pw: c.update_user(UserName="default", AccessString=ALL)),
    ("unknown filter name",
     lambda c, pw: c.describe_users(Filters=[{"Name": "Status", "Values": ["active"]}])),
    ("deleting open-access", lambda c, pw: c.delete_acl(ACLName="open-access")),
    ("bad ACL name", lambda c, pw: c.create_acl(ACLName="bad_name")),
]


@pytest.mark.parametrize("call", [pytest.param(call, id=case) for case, call in INVALID_VALUE_CASES])
def test_invalid_parameter_value_exception(memorydb, password, call):
    with fault(memorydb, "InvalidParameterValueException", 400):
        call(memorydb, password)


INVALID_COMBINATION_CASES = [
    ("password type without passwords",
     lambda c, pw, u: c.create_user(UserName=new_name(), AuthenticationMode={"Type": "password"}, AccessString=ALL)),
    ("iam type with passwords",
     lambda c, pw, u: c.create_user(UserName=new_name(), AuthenticationMode={"Type": "iam", "Passwords": [pw()]}, AccessString=ALL)),
    ("update asking for no change", lambda c, pw, u: c.update_user(UserName=u)),
    ("update to password type without passwords",
     lambda c, pw, u: c.update_user(UserName=u, AuthenticationMode={"Type": "password"})),
]


@pytest.mark.parametrize(
    "call", [pytest.param(call, id=case) for case, call in INVALID_COMBINATION_CASES]
)
def test_invalid_parameter_combination_exception(memorydb, password, existing, call):
    user, _ = existing
    with fault(memorydb, "InvalidParameterCombinationException", 400):
        call(memorydb, password, user)


def test_a_failed_call_changes_nothing(memorydb, existing):
    user, acl = existing
    before = memorydb.describe_users(UserName=user)["Users"][0]
    with fault(memorydb, "InvalidParameterValueException", 400):
        memorydb.update_user(
            UserName=user, AccessString="on ~x:* +@read", AuthenticationMode={"Type": "bogus"}
        )
    assert memorydb.describe_users(UserName=user)["Users"][0] == before


def test_client_error_carries_code_message_and_request_id(memorydb):
    missing = new_name("nobody")
    with pytest.raises(ClientError) as e:
        memorydb.delete_user(UserName=missing)
    response = e.value.response
    assert response["Error"] == {"Code": "UserNotFoundFault", "Message": f"User {missing} not found."}
    assert response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    assert e.value.operation_name == "DeleteUser"


@pytest.mark.parametrize(
    ("operation", "params"),
    [
    ("describe_subnet_groups", {}),
    ("describe_engine_versions", {}),
    ("create_subnet_group", {"SubnetGroupName": "g1", "SubnetIds": ["subnet-1"]}),
    ("batch_update_cluster", {"ClusterNames": ["c1"]}),
    ],
)
def test_unimplemented_operations_answer_not_implemented(memorydb, operation, params):
    with pytest.raises(ClientError) as e:
        getattr(memorydb, operation)(**params)
    response = e.value.response
    assert response["Error"]["Code"] == "NotImplemented"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    op_name = e.value.operation_name
    assert op_name in response["Error"]["Message"]


def test_an_oversized_body_is_answered_413_to_clients_that_send_it_all_first(server, memorydb):
    """boto3 and urllib send the whole body before they read: the 413 reaches them, in
    the request's protocol, rather than a connection reset."""
    import json
    import urllib.error
    import urllib.request

    body = b'{"UserName":"' + b"x" * (2 << 20) + b'"}'
    request = urllib.request.Request(
        server.url + "/", data=body, method="POST",
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "AmazonMemoryDB.DescribeUsers"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["__type"] == "RequestEntityTooLarge"

    with pytest.raises(ClientError) as refused:
        memorydb.create_user(UserName=new_name("big"), AuthenticationMode={"Type": "iam"},
                             AccessString="on ~" + "k" * (2 << 20) + " +@all")
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLarge"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
