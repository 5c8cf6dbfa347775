"""Prometheus metrics of one daemon, in a registry of its own (tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.items_ingested = Counter("advisory_monitor_items_ingested", "Items stored, by source",
                                      ["source"], registry=self.registry)
        self.items_classified = Counter("advisory_monitor_items_classified", "Items classified",
                                        registry=self.registry)
        self.source_failures = Counter("advisory_monitor_source_failures", "Failed polls, by source",
                                       ["source"], registry=self.registry)
        self.polls = Counter("advisory_monitor_polls", "Polls, by source", ["source"], registry=self.registry)
        self.digests_sent = Counter("advisory_monitor_digests_sent", "Digests delivered, by alert and target",
                                    ["alert", "target"], registry=self.registry)
        self.deliveries_failed = Counter("advisory_monitor_deliveries_failed",
                                         "Delivery attempts that failed, by alert and target",
                                         ["alert", "target"], registry=self.registry)
        self.outbox_pending = Gauge("advisory_monitor_outbox_pending", "Deliveries waiting to be sent",
                                    registry=self.registry)
        self.reloads = Counter("advisory_monitor_config_reloads", "Config reloads, by outcome", ["outcome"],
                               registry=self.registry)

        self.worker_leases = Gauge("advisory_monitor_worker_leases",
                                   "Leases this worker holds, by kind (several workers on PostgreSQL)", ["kind"],
                                   registry=self.registry)
        self.lease_takeovers = Counter("advisory_monitor_lease_takeovers",
                                       "Claims taken over from a worker whose lease lapsed", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
