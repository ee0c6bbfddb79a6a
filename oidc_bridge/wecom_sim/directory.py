"""The simulated corp: one self-built app, its people and departments.

Plain mutable dataclasses so a test can change a person mid-flow (disable them, move them out
of the visible range) and watch the bridge react on the next WeCom call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class SimUser:
    """One person. ``member=False`` models a non-member, who WeCom identifies only by openid."""

    userid: str
    name: str
    department: tuple[int, ...] = (1,)
    status: int = 1  # 1 active, 2 disabled, 4 not activated, 5 left (Doc 90196)
    email: str | None = None
    biz_mail: str | None = None
    mobile: str | None = None
    avatar: str | None = None
    gender: str = "0"  # a string in WeCom's answers: "0" unknown, "1" male, "2" female
    position: str = ""
    alias: str = ""
    in_visible_range: bool = True
    member: bool = True
    openid: str | None = None
    qr_code: str | None = None
    address: str | None = None

    @property
    def effective_openid(self) -> str:
        """The openid WeCom reports for a non-member; stable, so repeated logins agree."""
        return self.openid or "o" + _digest("openid", self.userid, 27)

    @property
    def external_userid(self) -> str:
        """WeCom's external contact id for a non-member (prefix ``wm``, like the real ones)."""
        return "wm" + _digest("external", self.userid, 30)


@dataclass
class SimDepartment:
    """One department; ``parentid`` 0 marks the root."""

    id: int
    name: str
    parentid: int
    name_en: str = ""
    order: int = 100000000


@dataclass
class SimTag:
    """One tag (标签): it holds people directly and whole departments (sub-departments included)."""

    id: int
    name: str
    userids: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()


@dataclass
class Directory:
    """One corp with one self-built app: credentials, people, departments and console settings.

    ``legacy_app=False`` models apps created after 2022-06-20, whose ``user/get`` no longer
    returns email, mobile, avatar, gender, biz_mail, qr_code or address.
    """

    corp_id: str
    agent_id: str
    secret: str
    users: list[SimUser] = field(default_factory=list)
    departments: list[SimDepartment] = field(default_factory=list)
    tags: list[SimTag] = field(default_factory=list)
    trusted_ips: tuple[str, ...] | None = None
    trusted_domain: str | None = None  # "host[:port]" that redirect_uri must match exactly
    legacy_app: bool = False

    def user(self, userid: str) -> SimUser | None:
        """The person with this userid (members and non-members alike), or None."""
        return next((u for u in self.users if u.userid == userid), None)

    def department(self, dept_id: int) -> SimDepartment | None:
        return next((d for d in self.departments if d.id == dept_id), None)

    def tag(self, tag_id: int) -> SimTag | None:
        return next((t for t in self.tags if t.id == tag_id), None)

    def subtree(self, root_id: int) -> list[SimDepartment]:
        """A department and everything below it, parents first, as WeCom lists them."""
        out = [d for d in self.departments if d.id == root_id]
        frontier = [root_id]
        while frontier:
            children = [d for d in self.departments if d.parentid in frontier and d.id not in frontier]
            out.extend(children)
            frontier = [d.id for d in children]
        return out

    @classmethod
    def sample(
        cls,
        corp_id: str = "wwsimcorp0000001",
        agent_id: str = "1000002",
        secret: str = "sim-secret-7Yq3kVxN0pLb2RzT8wGdHs5mJc1AeFuQ",
    ) -> Directory:
        """A small, realistic corp covering every case the bridge must handle."""
        users = [
            SimUser(
                "zhangsan",
                "张三",
                department=(2,),
                email="zhangsan@example.com",
                mobile="13800138000",
                avatar="https://wework.qpic.cn/wwhead/sim-zhangsan/0",
                qr_code="https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=simzhangsan",
                address="北京市海淀区示例路 1 号",
                gender="1",
                position="工程师",
                alias="Zhang San",
            ),
            SimUser("lisi", "李四", department=(3,), biz_mail="lisi@example.wecom.work", gender="2"),
            SimUser("wangwu", "王五", department=(2,), status=2, position="测试"),
            SimUser("zhaoliu", "赵六", department=(3,), status=5),
            SimUser("outsider", "钱七", department=(1,), in_visible_range=False),
            SimUser("guest", "访客", member=False, openid="oSimGuest000000000000000001"),
        ]
        departments = [
            SimDepartment(1, "示例科技", 0, "Example Tech", order=100000000),
            SimDepartment(2, "研发部", 1, "R&D", order=99999000),
            SimDepartment(3, "销售部", 1, "Sales", order=99998000),
        ]
        tags = [
            SimTag(1, "财务审批", userids=("lisi",)),
            SimTag(2, "研发全员", department_ids=(2,)),
        ]
        return cls(corp_id, agent_id, secret, users, departments, tags)


def _digest(kind: str, value: str, length: int) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:length]
