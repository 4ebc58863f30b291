"""Chapter 11's plumbing: the feature checks can fail, the line count follows its stated rule,
and every function the line table names exists."""

import asyncio
import importlib.util
import textwrap

import pytest
from sessionlab.chapters import easier_to_use as chapter
from sessionlab.lab.bench import Bench

COUNTED = textwrap.dedent(
    '''
    def factory(recommended):
        @decorator
        def route():
            """A docstring
            on two lines."""
            # a comment

            x = 1
            if recommended:
                y = 2
            else:
                y = 3
            if recommended and x:
                z = 4
            return x + y + z

        return route
    '''
)


@pytest.fixture(scope="module")
def bench():
    bench = Bench()
    yield bench
    asyncio.run(bench.close())


@pytest.fixture(scope="module")
def redis_client(bench):
    return bench.redis()


def test_code_lines_counts_one_configuration_without_docstrings_comments_or_blanks(tmp_path):
    path = tmp_path / "counted.py"
    path.write_text(COUNTED, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("counted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # decorator, def, x, y = 2, `if recommended and x`, z, return
    assert chapter.code_lines(module, "factory.route", "recommended") == 7
    # decorator, def, x, y = 3, return
    assert chapter.code_lines(module, "factory.route", "defaults") == 5
    with pytest.raises(LookupError):
        chapter.code_lines(module, "factory.nothing")


def test_every_function_the_line_table_names_exists_and_counts():
    for app, features in chapter.FEATURE_CODE.items():
        for feature, parts in features.items():
            for module, dotted in parts or []:
                assert chapter.code_lines(module, dotted) > 0, (app, feature, dotted)
    lines = chapter.feature_lines()
    assert lines["flask-jwt-extended (defaults)"]["log out everywhere"] is None
    assert chapter.total_lines("flask-jwt-extended (recommended)") < sum(
        n for n in lines["flask-jwt-extended (recommended)"].values()
    )  # load_user and forget serve several features and count once in the total


def test_the_checks_fail_where_the_feature_is_missing(bench, redis_client):
    target = chapter.jwt_target(bench, redis_client, "defaults")
    assert chapter.check_csrf(target) and chapter.check_replay_after_logout(target)
    assert not chapter.check_role_change(target)  # the role is a claim of the token
    assert not chapter.check_log_out_everywhere(target)  # no such route
    target.app.config["JWT_COOKIE_CSRF_PROTECT"] = False
    assert not chapter.check_csrf(target)
    target.app.extensions["flask-jwt-extended"].token_in_blocklist_loader(lambda h, c: False)
    assert chapter.check_log_out(target) and not chapter.check_replay_after_logout(target)


def test_the_flask_target_changes_a_role_in_the_apps_own_users_table(bench, redis_client):
    target = chapter.flask_target(bench, redis_client)
    root = chapter.logged_in(target, "root")
    target.set_role("root", "user")
    assert root.get("/me").json()["role"] == "user"
    target.set_role("root", "admin")
    assert chapter.check_role_change(target)


def test_redis_commands_per_request_counts_and_refuses_a_refused_client(bench, redis_client):
    target = chapter.jwt_target(bench, redis_client, "recommended")
    client = chapter.logged_in(target, "root")
    assert chapter.redis_commands_per_request(redis_client, client, n=3) == {"exists": 1}
    with pytest.raises(RuntimeError):
        chapter.redis_commands_per_request(redis_client, chapter.logged_in(target), n=1)
