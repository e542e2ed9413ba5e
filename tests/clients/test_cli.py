"""The AWS CLI (`aws memorydb ...`) against memshift: the user and ACL journey, paging,
and errors as the CLI reports them (non-zero exit, the code in stderr)."""

from __future__ import annotations

import json

import pytest

from support import default_user, new_account_id, new_name, open_access_acl


def test_user_and_acl_journey(cli, account, password):
    as_me = {"access_key_id": account}
    user, other, acl = new_name("cli"), new_name("cli"), new_name("cliacl")
    first, second, third = password(), password(), password()

    # create-user, with the shorthand syntax.
    created = cli.ok(
        "create-user",
        "--user-name", user,
        "--access-string", "~objects:* ~items:* ~public:*",
        "--authentication-mode", f"Type=password,Passwords={first}",
        "--tags", "Key=team,Value=blue", "Key=env,Value=test",
        **as_me,
    )
    expected = {
        "Name": user,
        "Status": "active",
        "AccessString": "off ~objects:* ~items:* ~public:* resetchannels -@all",
        "ACLNames": [],
        "MinimumEngineVersion": "6.2",
        "Authentication": {"Type": "password", "PasswordCount": 1},
        "ARN": f"arn:aws:memorydb:us-east-1:{account}:user/{user}",
    }
    assert created == {"User": expected}

    # create-user, with JSON input and an IAM user.
    cli.ok(
        "create-user",
        "--user-name", other,
        "--access-string", "on ~* &* +@all",
        "--authentication-mode", json.dumps({"Type": "iam"}),
        **as_me,
    )

    # describe-users: one user, then all of them.
    assert cli.ok("describe-users", "--user-name", user, **as_me) == {"Users": [expected]}
    listed = cli.ok("describe-users", **as_me)["Users"]
    assert sorted(u["Name"] for u in listed) == sorted(["default", user, other])
    assert default_user(account) in listed

    # update-user: rotate to two passwords, then change the access string.
    rotated = cli.ok(
        "update-user",
        "--user-name", user,
        "--authentication-mode", f"Type=password,Passwords={second},{third}",
        **as_me,
    )["User"]
    assert rotated["Status"] == "modifying"
    assert rotated["Authentication"] == {"Type": "password", "PasswordCount": 2}
    changed = cli.ok("update-user", "--user-name", user, "--access-string", "on ~app:* +@read", **as_me)
    assert changed["User"]["AccessString"] == "on ~app:* resetchannels -@all +@read"
    assert changed["User"]["Status"] == "modifying"
    described = cli.ok("describe-users", "--user-name", user, **as_me)["Users"][0]
    assert described["Status"] == "active"
    assert described["Authentication"] == {"Type": "password", "PasswordCount": 2}

    # create-acl with the first user.
    made = cli.ok("create-acl", "--acl-name", acl, "--user-names", user, **as_me)["ACL"]
    assert made == {
        "Name": acl,
        "Status": "creating",
        "UserNames": [user],
        "MinimumEngineVersion": "6.2",
        "Clusters": [],
        "ARN": f"arn:aws:memorydb:us-east-1:{account}:acl/{acl}",
    }
    assert cli.ok("describe-users", "--user-name", user, **as_me)["Users"][0]["ACLNames"] == [acl]

    # update-acl: swap the members.
    swapped = cli.ok(
        "update-acl",
        "--acl-name", acl,
        "--user-names-to-add", other,
        "--user-names-to-remove", user,
        **as_me,
    )["ACL"]
    assert swapped["Status"] == "modifying"
    assert swapped["UserNames"] == [other]
    assert swapped["PendingChanges"] == {"UserNamesToAdd": [other], "UserNamesToRemove": [user]}
    assert cli.ok("describe-users", "--user-name", user, **as_me)["Users"][0]["ACLNames"] == []
    assert cli.ok("describe-users", "--user-name", other, **as_me)["Users"][0]["ACLNames"] == [acl]
    acls = cli.ok("describe-acls", **as_me)["ACLs"]
    assert open_access_acl(account) in acls
    assert [a["UserNames"] for a in acls if a["Name"] == acl] == [[other]]

    # Tags.
    arn = expected["ARN"]
    assert cli.ok("list-tags", "--resource-arn", arn, **as_me) == {
        "TagList": [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "test"}]
    }
    assert cli.ok("tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod", **as_me) == {
        "TagList": [{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "prod"}]
    }
    assert cli.ok("untag-resource", "--resource-arn", arn, "--tag-keys", "team", **as_me) == {
        "TagList": [{"Key": "env", "Value": "prod"}]
    }

    # delete-user: the member leaves the ACL.
    deleted = cli.ok("delete-user", "--user-name", other, **as_me)["User"]
    assert deleted["Status"] == "deleting"
    assert deleted["Name"] == other
    assert cli.ok("describe-acls", "--acl-name", acl, **as_me)["ACLs"][0]["UserNames"] == []
    cli.fails("UserNotFoundFault", "describe-users", "--user-name", other, **as_me)

    # delete-acl.
    gone = cli.ok("delete-acl", "--acl-name", acl, **as_me)["ACL"]
    assert gone["Status"] == "deleting"
    cli.fails("ACLNotFoundFault", "describe-acls", "--acl-name", acl, **as_me)
    assert cli.ok("describe-acls", **as_me) == {"ACLs": [open_access_acl(account)]}


def test_cli_pages_automatically(cli, account, password):
    as_me = {"access_key_id": account}
    names = sorted(new_name("page") for _ in range(4))
    for name in names:
        cli.ok(
            "create-user",
            "--user-name", name,
            "--access-string", "on ~* +@all",
            "--authentication-mode", json.dumps({"Type": "password", "Passwords": [password()]}),
            **as_me,
        )
    everyone = sorted(names + ["default"])
    # The CLI follows NextToken itself with pages of two.
    listed = cli.ok("describe-users", "--page-size", "2", **as_me)
    assert [u["Name"] for u in listed["Users"]] == everyone
    assert "NextToken" not in listed
    # --max-items stops early and hands out a token to resume from.
    head = cli.ok("describe-users", "--page-size", "2", "--max-items", "3", **as_me)
    assert [u["Name"] for u in head["Users"]] == everyone[:3]
    rest = cli.ok("describe-users", "--page-size", "2", "--starting-token", head["NextToken"], **as_me)
    assert [u["Name"] for u in rest["Users"]] == everyone[3:]
    # Filters.
    filtered = cli.ok("describe-users", "--filters", f"Name=UserName,Values={names[0]},{names[1]}", **as_me)
    assert [u["Name"] for u in filtered["Users"]] == names[:2]


def test_cli_regions_and_accounts_are_isolated(cli, account):
    name = new_name("cliiso")
    cli.ok(
        "create-user", "--user-name", name, "--access-string", "on ~* +@all",
        "--authentication-mode", "Type=iam",
        access_key_id=account, region="eu-central-1",
    )
    user = cli.ok("describe-users", "--user-name", name, access_key_id=account, region="eu-central-1")
    assert user["Users"][0]["ARN"] == f"arn:aws:memorydb:eu-central-1:{account}:user/{name}"
    cli.fails("UserNotFoundFault", "describe-users", "--user-name", name,
              access_key_id=account, region="us-east-1")
    cli.fails("UserNotFoundFault", "describe-users", "--user-name", name,
              access_key_id=new_account_id(), region="eu-central-1")


@pytest.mark.parametrize(
    ("code", "args"),
    [
        ("UserNotFoundFault", ["describe-users", "--user-name", "nobody-at-all"]),
        ("UserNotFoundFault", ["delete-user", "--user-name", "nobody-at-all"]),
        ("UserAlreadyExistsFault", ["create-user", "--user-name", "default", "--access-string",
                                    "on ~* +@all", "--authentication-mode", "Type=iam"]),
        ("ACLNotFoundFault", ["delete-acl", "--acl-name", "no-such-acl"]),
        ("ACLAlreadyExistsFault", ["create-acl", "--acl-name", "open-access"]),
        ("DuplicateUserNameFault", ["create-acl", "--acl-name", "dup-acl",
                                    "--user-names", "default", "default"]),
        ("InvalidParameterValueException", ["delete-acl", "--acl-name", "open-access"]),
        ("InvalidParameterValueException", ["delete-user", "--user-name", "default"]),
        ("InvalidParameterCombinationException", ["create-user", "--user-name", "nopw",
                                                  "--access-string", "on ~* +@all",
                                                  "--authentication-mode", "Type=password"]),
        ("InvalidARNFault", ["list-tags", "--resource-arn", "not-an-arn"]),
        ("TagNotFoundFault", ["untag-resource", "--resource-arn",
                              "arn:aws:memorydb:us-east-1:{account}:user/default",
                              "--tag-keys", "absent"]),
        ("NotImplemented", ["describe-subnet-groups"]),
        ("ClusterNotFoundFault", ["describe-clusters", "--cluster-name", "ghost"]),
    ],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_cli_errors(cli, account, code, args):
    args = [a.format(account=account) for a in args]
    result = cli.fails(code, *args, access_key_id=account)
    assert result.returncode == 255
    assert result.stdout == ""
