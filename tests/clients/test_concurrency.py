"""Many clients at once: every operation on an account and region is atomic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support import describe_acl, new_name, password_mode

WORKERS = 16


def test_concurrent_creates_of_distinct_and_identical_names(make_client, fresh_account, password):
    clients = [make_client(access_key_id=fresh_account) for _ in range(WORKERS)]
    names = [new_name("c") for _ in range(48)]
    secrets = [password() for _ in names]

    def create(i: int) -> str:
        clients[i % WORKERS].create_user(
            UserName=names[i], AuthenticationMode=password_mode(secrets[i]), AccessString="on ~* +@all"
        )
        return names[i]

    with ThreadPoolExecutor(WORKERS) as pool:
        created = list(pool.map(create, range(len(names))))
    assert sorted(created) == sorted(names)
    listed = clients[0].describe_users()["Users"]
    assert sorted(u["Name"] for u in listed) == sorted(names + ["default"])

    # Sixteen clients race to create one name: exactly one wins.
    contested = new_name("race")

    def race(i: int) -> str:
        client = clients[i]
        try:
            client.create_user(
                UserName=contested, AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all"
            )
            return "created"
        except client.exceptions.UserAlreadyExistsFault:
            return "exists"

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(race, range(WORKERS)))
    assert outcomes.count("created") == 1
    assert outcomes.count("exists") == WORKERS - 1


def test_concurrent_acl_updates_keep_membership_two_way(make_client, fresh_account, password):
    clients = [make_client(access_key_id=fresh_account) for _ in range(WORKERS)]
    users = sorted(new_name("member") for _ in range(32))
    for name in users:
        clients[0].create_user(
            UserName=name, AuthenticationMode=password_mode(password()), AccessString="on ~* +@all"
        )
    acl = new_name("busy")
    clients[0].create_acl(ACLName=acl)

    def add(i: int) -> None:
        clients[i % WORKERS].update_acl(ACLName=acl, UserNamesToAdd=[users[i]])

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(add, range(len(users))))
    assert describe_acl(clients[0], acl)["UserNames"] == users

    def remove_or_delete(i: int) -> None:
        client = clients[i % WORKERS]
        if i % 2:
            client.delete_user(UserName=users[i])
        else:
            client.update_acl(ACLName=acl, UserNamesToRemove=[users[i]])

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(remove_or_delete, range(len(users))))
    assert describe_acl(clients[0], acl)["UserNames"] == []
    remaining = {u["Name"]: u["ACLNames"] for u in clients[0].describe_users()["Users"]}
    assert remaining == {"default": ["open-access"], **{u: [] for u in users[0::2]}}
