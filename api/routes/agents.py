"""Agents: who is available and how loaded; an agent sets their own status."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request

from api.deps import AgentUser, CurrentUser, SessionDep
from api.figures import list_agents
from api.relay import act_and_relay
from api.schemas import AgentOut, AgentStatusIn, UserOut
from triage import services
from triage.audit import Actor
from triage.services.handoff import open_counts as agent_loads

router = APIRouter(prefix="/agents", tags=["agents"])


@router.get("", response_model=list[AgentOut])
def agents(_user: CurrentUser, session: SessionDep) -> list[AgentOut]:
    """Active agents with status, skills, capacity and current load (assigned conversations)."""
    loads = agent_loads(session)
    return [
        AgentOut(**UserOut.model_validate(a).model_dump(), load=loads.get(a.id, 0))
        for a in list_agents(session)
    ]


@router.put("/me/status", response_model=AgentOut)
def set_my_status(
    body: AgentStatusIn, agent: AgentUser, session: SessionDep, request: Request, background: BackgroundTasks
) -> AgentOut:
    """Set your own status; going offline puts your open conversations back in their queues."""

    def work() -> list[str]:
        return services.set_agent_status(session, agent, body.status, actor=Actor.of(agent))

    requeued = act_and_relay(session, request, background, work)
    load = agent_loads(session).get(agent.id, 0)
    return AgentOut(**UserOut.model_validate(agent).model_dump(), load=load, requeued=requeued)
