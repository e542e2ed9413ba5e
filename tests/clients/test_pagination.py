"""DescribeUsers and DescribeACLs paging, by hand with NextToken and with boto3 paginators.

Each test uses an account of its own, so the set of users it pages over is exact.
"""

from __future__ import annotations

from collections import Counter

import pytest

from support import fault, new_name, password_mode


def create_users(client, names, password):
    for name in names:
        client.create_user(
            UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
        )


def pages_by_hand(client, operation: str, key: str, **params) -> list[list[str]]:
    pages = []
    token = None
    while True:
        kwargs = dict(params)
        if token is not None:
            kwargs["NextToken"] = token
        answer = getattr(client, operation)(**kwargs)
        pages.append([item["Name"] for item in answer[key]])
        token = answer.get("NextToken")
        if token is None:
            return pages
        assert len(pages) < 100, "paging does not end"


@pytest.fixture
def twenty_five(fresh, password):
    prefix = new_name("p")
    names = [f"{prefix}-{i:02d}" for i in range(25)]
    create_users(fresh, names, password)
    return set(names) | {"default"}


def test_pages_of_ten_with_next_token(fresh, twenty_five):
    pages = pages_by_hand(fresh, "describe_users", "Users", MaxResults=10)
    assert [len(p) for p in pages] == [10, 10, 6]
    seen = [name for page in pages for name in page]
    assert Counter(seen) == Counter(twenty_five), "every user exactly once"
    assert seen == sorted(seen), "users are listed in name order"


def test_last_page_has_no_next_token(fresh, twenty_five):
    answer = fresh.describe_users(MaxResults=26)
    assert len(answer["Users"]) == 26
    assert "NextToken" not in answer
    answer = fresh.describe_users()
    assert {u["Name"] for u in answer["Users"]} == twenty_five
    assert "NextToken" not in answer


def test_boto3_paginator(fresh, twenty_five):
    paginator = fresh.get_paginator("describe_users")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 10}))
    assert [len(p["Users"]) for p in pages] == [10, 10, 6]
    assert Counter(u["Name"] for p in pages for u in p["Users"]) == Counter(twenty_five)

    full = paginator.paginate(PaginationConfig={"PageSize": 7}).build_full_result()
    assert Counter(u["Name"] for u in full["Users"]) == Counter(twenty_five)
    assert "NextToken" not in full


def test_boto3_paginator_resumes_from_its_starting_token(fresh, twenty_five):
    paginator = fresh.get_paginator("describe_users")
    first = paginator.paginate(
        PaginationConfig={"PageSize": 10, "MaxItems": 15}
    ).build_full_result()
    assert len(first["Users"]) == 15
    assert first["NextToken"]
    rest = paginator.paginate(
        PaginationConfig={"PageSize": 10, "StartingToken": first["NextToken"]}
    ).build_full_result()
    seen = [u["Name"] for u in first["Users"] + rest["Users"]]
    assert Counter(seen) == Counter(twenty_five)


def test_no_repeats_or_skips_while_users_come_and_go(fresh, password):
    prefix = new_name("m")
    names = [f"{prefix}-{i:02d}" for i in range(25)]
    create_users(fresh, names, password)
    stable = set(names) | {"default"}

    seen: list[str] = []
    first = fresh.describe_users(MaxResults=10)
    seen += [u["Name"] for u in first["Users"]]
    token = first["NextToken"]

    # The user the token points at, one not yet listed, and one already listed go away;
    # new users appear before and after the cursor.
    last_seen = seen[-1]
    gone_unseen = f"{prefix}-17"
    assert gone_unseen not in seen
    assert seen[0] == "default"  # sorts first; it can't be deleted
    for name in (last_seen, gone_unseen, seen[1]):
        fresh.delete_user(UserName=name)
        stable.discard(name)
    create_users(fresh, [f"{prefix}-00a", f"{prefix}-99", f"{prefix}-12a"], password)

    churned = False
    while token:
        answer = fresh.describe_users(MaxResults=10, NextToken=token)
        seen += [u["Name"] for u in answer["Users"]]
        token = answer.get("NextToken")
        if token and not churned:
            churned = True
            # More churn between later pages.
            fresh.delete_user(UserName=f"{prefix}-22")
            stable.discard(f"{prefix}-22")
            create_users(fresh, [f"{prefix}-21a"], password)

    counts = Counter(seen)
    assert [n for n, c in counts.items() if c > 1] == [], "no user is listed twice"
    assert stable - set(seen) == set(), "no user that existed throughout is skipped"
    assert gone_unseen not in seen
    assert f"{prefix}-22" not in seen
    assert f"{prefix}-00a" not in seen, "a user created behind the cursor is not listed"
    assert f"{prefix}-99" in seen, "a user created ahead of the cursor is listed"
    assert f"{prefix}-21a" in seen


def test_paginator_with_churn_between_pages(fresh, password):
    prefix = new_name("q")
    names = [f"{prefix}-{i:02d}" for i in range(25)]
    create_users(fresh, names, password)
    stable = set(names) | {"default"}
    seen: list[str] = []
    pages = fresh.get_paginator("describe_users").paginate(PaginationConfig={"PageSize": 10})
    for number, page in enumerate(pages):
        seen += [u["Name"] for u in page["Users"]]
        if number == 0:
            # Delete the last user returned and one further on; add some.
            for name in (seen[-1], f"{prefix}-15"):
                fresh.delete_user(UserName=name)
                stable.discard(name)
            create_users(fresh, [f"{prefix}-05b", f"{prefix}-15b"], password)
    assert max(Counter(seen).values()) == 1
    assert stable <= set(seen)
    assert f"{prefix}-15" not in seen
    assert f"{prefix}-15b" in seen


def test_describe_acls_pages(fresh):
    prefix = new_name("a")
    acls = [f"{prefix}-{i:02d}" for i in range(12)]
    for name in acls:
        fresh.create_acl(ACLName=name)
    pages = pages_by_hand(fresh, "describe_acls", "ACLs", MaxResults=5)
    assert [len(p) for p in pages] == [5, 5, 3]
    assert Counter(n for p in pages for n in p) == Counter(acls + ["open-access"])
    full = fresh.get_paginator("describe_acls").paginate(
        PaginationConfig={"PageSize": 4}
    ).build_full_result()
    assert sorted(a["Name"] for a in full["ACLs"]) == sorted(acls + ["open-access"])


def test_page_size_limits(fresh, twenty_five):
    # Above 100 is served as 100 (here: everything), below 1 is refused.
    assert len(fresh.describe_users(MaxResults=1000)["Users"]) == 26
    one = fresh.describe_users(MaxResults=1)
    assert len(one["Users"]) == 1 and one["NextToken"]
    with fault(fresh, "InvalidParameterValueException", 400):
        fresh.describe_users(MaxResults=0)
    with fault(fresh, "InvalidParameterValueException", 400):
        fresh.describe_users(NextToken="not-a-token-memshift-issued")


def test_filters_and_pages_together(fresh, password):
    prefix = new_name("f")
    readers = [f"{prefix}-r{i:02d}" for i in range(12)]
    writers = [f"{prefix}-w{i:02d}" for i in range(8)]
    for group, access in ((readers, "on ~* +@read"), (writers, "on ~* +@write")):
        for name in group:
            fresh.create_user(
                UserName=name, AuthenticationMode=password_mode(password()), AccessString=access
            )
    pages = pages_by_hand(
        fresh,
        "describe_users",
        "Users",
        MaxResults=5,
        Filters=[{"Name": "AccessString", "Values": ["on ~* +@read"]}],
    )
    assert [len(p) for p in pages] == [5, 5, 2], "no empty trailing page"
    assert [n for p in pages for n in p] == readers


def test_pages_hold_at_most_100_users(fresh):
    prefix = new_name("h")
    for i in range(120):
        fresh.create_user(
            UserName=f"{prefix}-{i:03d}", AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all"
        )
    for params in ({}, {"MaxResults": 1000}):
        first = fresh.describe_users(**params)
        assert len(first["Users"]) == 100
        rest = fresh.describe_users(NextToken=first["NextToken"], **params)
        assert len(rest["Users"]) == 21
        assert "NextToken" not in rest
    full = fresh.get_paginator("describe_users").paginate().build_full_result()
    assert len(full["Users"]) == 121
