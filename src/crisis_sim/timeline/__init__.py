"""The run-time side of timeline events: :mod:`runtime` schedules them and keeps staff and program state;
:mod:`effects` says what each event type does. The events' data lives in :mod:`crisis_sim.scenario.timeline`."""
