"""Run with the code of commit af21cec (snapshot schema 3) on PYTHONPATH: registers flows
half-way into a SQLite file and prints the stored rows, for tests/stores/schema3/."""
import json, sqlite3, sys
from datetime import timedelta
from regflow import ChooseMethod, ConfirmOtp, State
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.testing import FakePorts, form_for, CITIZEN
import attrs, structlog
structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))

path = sys.argv[1]
ports = FakePorts.seeded(CITIZEN, attrs.evolve(CITIZEN, bhxh_number="0123456780", id_number="079090012346", phone="+84987654321", full_name="Trần Thị Bình"))
from regflow import Engine
engine = Engine(bhxh=ports.bhxh, sms=ports.sms, users=SqliteUserStore(path), flows=SqliteFlowStore(path), hasher=ports.hasher, clock=ports.clock, otp_secret=ports.otp_secret)
out = {}
# 1: waiting for the OTP
v = engine.start(); engine.send(v.flow_id, ChooseMethod("citizen", "bhxh"))
v = engine.send(v.flow_id, form_for()); assert v.state is State.OTP_PENDING
out["otp_pending"] = {"flow_id": v.flow_id, "code": ports.sms.last_code()}
# 2: setting the password, for the second citizen
second = attrs.evolve(CITIZEN, bhxh_number="0123456780", id_number="079090012346", phone="+84987654321", full_name="Trần Thị Bình")
w = engine.start(); engine.send(w.flow_id, ChooseMethod("citizen", "bhxh"))
w = engine.send(w.flow_id, form_for(second)); w = engine.send(w.flow_id, ConfirmOtp(ports.sms.last_code()))
assert w.state is State.SETTING_PASSWORD, w.errors
out["setting_password"] = {"flow_id": w.flow_id}
# 3: a data mismatch, to fix on the form
m = engine.start(); engine.send(m.flow_id, ChooseMethod("citizen", "bhxh"))
m = engine.send(m.flow_id, form_for(full_name="Nguyễn Văn Ân")); assert m.state is State.DATA_MISMATCH
out["data_mismatch"] = {"flow_id": m.flow_id}
with sqlite3.connect(path) as c:
    rows = {fid: snap for fid, snap in c.execute("SELECT flow_id, snapshot FROM regflow_flows")}
for name, info in out.items():
    info["document"] = json.loads(rows[info["flow_id"]])
print(json.dumps({"clock": ports.clock.now().isoformat(), "flows": out}, ensure_ascii=False, indent=1))
