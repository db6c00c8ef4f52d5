"""Routing across channels, end to end: the dispatcher, the real Zalo and SMS notifiers, and
the provider doubles over HTTP (fallback, the night ban, rate limits, a 5xx storm)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import time_machine
from sqlalchemy import select, update

from notifiers.zalo.tokens import ZaloToken
from scheduler.dispatch.digest import digest_context, operator_alerts
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import DeliveryAttempt, Reminder, Status
from scheduler.outbox.sync import sync
from tests.doubles.serve import reset, script
from tests.support.channels import DAY, ESMS_PATH, SPEEDSMS_PATH, api_calls, at, rows
from tests.support.dispatch_kit import run as dispatch

A_LUOI_ZNS = "84900000334"


def attempts(engine, reminder_id: int) -> list[tuple[str, str]]:
    table = DeliveryAttempt.__table__
    with engine.connect() as conn:
        return [
            (a.channel, a.outcome)
            for a in conn.execute(
                select(table).where(table.c.reminder_id == reminder_id).order_by(table.c.id)
            )
        ]


def test_a_recipient_not_on_zalo_gets_the_reminder_by_sms(setup, urls):
    settings, engine, dispatcher = setup()
    script(urls["zalo"], now=at(settings, DAY, 8).isoformat(), no_zalo=[A_LUOI_ZNS])
    with time_machine.travel(at(settings, DAY, 8), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, DAY)
        dispatch(dispatcher)
    [row] = rows(engine, "zalo", "sms")
    assert (row.channel, row.recipient, row.status) == ("sms", "+84900000334", Status.SENT)
    assert attempts(engine, row.id) == [("zalo", "fallback"), ("sms", "sent")]
    [zns] = api_calls(urls["zalo"], "/message/template")
    [sms] = api_calls(urls["esms"], ESMS_PATH)
    assert zns["json"]["tracking_id"] == sms["body"]["RequestId"] == row.key
    assert sms["body"]["Phone"] == "0900000334" and sms["body"]["IsUnicode"] == "0"
    assert "/x/" in sms["body"]["Content"] and len(sms["body"]["Content"]) <= 160
    # A later sync keeps the reminder on SMS rather than putting it back on Zalo.
    with time_machine.travel(at(settings, DAY, 9), tick=False):
        assert sync(engine, dispatcher.builder.deployment, settings, DAY).writes == 0


def test_zalos_night_ban_reschedules_to_the_morning_and_loses_nothing(setup, urls):
    settings, engine, dispatcher = setup()
    policies = dispatcher.builder.deployment.policies
    for policy in list(policies):  # a 22:00 send, outside this deployment's quiet hours
        policies[policy] = policies[policy].model_copy(update={"send_time": datetime(1, 1, 1, 22).time()})
    monday, tuesday = DAY - timedelta(days=3), DAY - timedelta(days=2)  # the "-3d" rung: Monday 7/12
    script(urls["zalo"], now=at(settings, monday, 22).isoformat())
    with time_machine.travel(at(settings, monday, 22), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, monday)
        dispatch(dispatcher)
        [row] = rows(engine, "zalo", rung="-3d")
        assert row.status == Status.PENDING
        assert row.next_attempt_at.astimezone(settings.timezone) == at(settings, tuesday, 7)
        assert dispatcher.next_wake(datetime.now(settings.timezone)) == row.next_attempt_at
    script(urls["zalo"], now=at(settings, tuesday, 7).isoformat())
    with time_machine.travel(at(settings, tuesday, 7), tick=False):
        dispatch(dispatcher)
    [row] = rows(engine, "zalo", rung="-3d")
    assert row.status == Status.SENT
    assert attempts(engine, row.id) == [("zalo", "retry"), ("zalo", "sent")]


def many_sms_reminders(settings, engine, dispatcher, count: int, rung: str = "0d", day: date = DAY) -> None:
    """`count` SMS reminders for A Lưới due on `day` (copies of its `rung` reminder with other keys)."""
    with time_machine.travel(at(settings, day, 8), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, day)
    table = Reminder.__table__
    with engine.begin() as conn:
        [row] = conn.execute(
            select(table).where(table.c.channel == "zalo", table.c.due_date == DAY, table.c.rung == rung)
        ).all()
        conn.execute(
            table.update().where(table.c.id == row.id).values(channel="sms", recipient="+84900000334")
        )
        template = {k: v for k, v in row._mapping.items() if k != "id"}
        conn.execute(
            table.insert(),
            [
                {**template, "channel": "sms", "recipient": "+84900000334", "key": f"{n:032x}"}
                for n in range(1, count)
            ],
        )


def test_speedsms_429_waits_for_the_reset_and_loses_nothing(setup, urls):
    settings, engine, dispatcher = setup(sms_gateway="speedsms")
    many_sms_reminders(settings, engine, dispatcher, 8)
    script(urls["speedsms"], rate_limit=5, window=60)
    with time_machine.travel(at(settings, DAY, 8), tick=False):
        dispatch(dispatcher)
        waiting = [r for r in rows(engine, "sms") if r.status == Status.PENDING]
        assert len(waiting) == 3 and len([r for r in rows(engine, "sms") if r.status == Status.SENT]) == 5
        for row in waiting:  # not before the provider's reset, 60 s after the first request
            assert row.next_attempt_at >= datetime.now(settings.timezone) + timedelta(seconds=50)
    reset(urls["speedsms"])  # the provider's window has passed
    with time_machine.travel(at(settings, DAY, 8, 5), tick=False):
        dispatch(dispatcher)
    assert {r.status for r in rows(engine, "sms")} == {Status.SENT}
    accepted = [r for r in api_calls(urls["speedsms"], SPEEDSMS_PATH) if r["status"] == 200]
    assert len(accepted) == 3  # after the reset: the three that waited, each once


def test_a_5xx_storm_opens_the_circuit_and_everything_is_delivered_after_it(setup, urls):
    settings, engine, dispatcher = setup(sms_extra="    circuit: {failures: 3, pause: 60}\n")
    many_sms_reminders(settings, engine, dispatcher, 10)
    dispatcher.notifiers["sms"].concurrency = 1  # one send at a time makes the order exact
    circuit = dispatcher.guards["sms"].circuit
    clock = [1000.0]
    circuit.clock = lambda: clock[0]
    script(urls["esms"], fail_next=4, status=503)

    with time_machine.travel(at(settings, DAY, 8), tick=False):
        dispatch(dispatcher)
    assert circuit.is_open
    sent_or_not = rows(engine, "sms")
    assert sorted(r.attempts for r in sent_or_not) == [0] * 7 + [1] * 3  # the rest postponed, not attempted
    assert all(r.status == Status.PENDING for r in sent_or_not)

    clock[0] += 61  # the pause is over: one trial, which fails (the 4th 503), and the circuit reopens
    with time_machine.travel(at(settings, DAY, 8, 2), tick=False):
        dispatch(dispatcher)
    assert circuit.is_open

    clock[0] += 61  # the storm is over: the trial succeeds, the circuit closes, everything goes
    with time_machine.travel(at(settings, DAY, 9), tick=False):
        dispatch(dispatcher)
    assert not circuit.is_open
    final = rows(engine, "sms")
    assert {r.status for r in final} == {Status.SENT}
    delivered = [r["body"]["RequestId"] for r in api_calls(urls["esms"], ESMS_PATH) if r["status"] == 200]
    assert sorted(delivered) == sorted(r.key for r in final)  # 100 %, each once


def test_an_ageing_zalo_token_reaches_the_digest_and_the_metrics(setup):
    settings, engine, dispatcher = setup()
    deployment = dispatcher.builder.deployment
    assert operator_alerts(engine, deployment) == []
    with engine.begin() as conn:
        conn.execute(
            update(ZaloToken).values(refresh_issued_at=datetime.now(settings.timezone) - timedelta(days=81))
        )
    [alert] = operator_alerts(engine, deployment)
    assert alert.startswith("zalo: ") and "nhacviec zalo authorize" in alert
    context = digest_context(engine, deployment, "hue-2026-bdg", DAY, settings.timezone)
    assert context["alerts"] == [alert]
    rendered = dispatcher.builder.templates.render("digest", context)
    assert "CẢNH BÁO VẬN HÀNH" in rendered.text and alert in rendered.text
    assert "Cảnh báo vận hành" in rendered.html
    metrics = Metrics(lambda: 0, lambda: len(operator_alerts(engine, deployment)))
    assert metrics.registry.get_sample_value("nhacviec_operator_alerts") == 1


def test_a_daily_quota_holds_the_rest_until_midnight_counting_what_was_already_sent(setup, urls):
    settings, engine, dispatcher = setup(sms_extra="    daily_quota: 3\n")
    monday, tuesday = DAY - timedelta(days=3), DAY - timedelta(days=2)  # the "-3d" rung
    many_sms_reminders(settings, engine, dispatcher, 5, rung="-3d", day=monday)
    with time_machine.travel(at(settings, monday, 8), tick=False):
        dispatch(dispatcher)
    statuses = [r.status for r in rows(engine, "sms", rung="-3d")]
    held = [r for r in rows(engine, "sms", rung="-3d") if r.status == Status.PENDING]
    assert sorted(statuses) == [Status.PENDING] * 2 + [Status.SENT] * 3
    # Midnight is in the quiet hours (23:00-05:00 here): they wait for their end, Tuesday 05:00.
    assert {r.next_attempt_at for r in held} == {at(settings, tuesday, 5)}
    assert {r.attempts for r in held} == {0}  # postponed, not attempted
    # A restarted daemon counts today's sends from the database: still nothing before midnight,
    # even for reminders due again at once (as if the operator had retried them).
    _, _, restarted = setup(sms_extra="    daily_quota: 3\n")
    with engine.begin() as conn:
        conn.execute(update(Reminder).where(Reminder.status == Status.PENDING).values(next_attempt_at=None))
    with time_machine.travel(at(settings, monday, 20), tick=False):
        dispatch(restarted)
    assert sorted(r.status for r in rows(engine, "sms", rung="-3d")) == sorted(statuses)
    with time_machine.travel(at(settings, tuesday, 7), tick=False):
        dispatch(restarted)
    assert {r.status for r in rows(engine, "sms", rung="-3d")} == {Status.SENT}
    assert len([r for r in api_calls(urls["esms"], ESMS_PATH) if r["status"] == 200]) == 5
