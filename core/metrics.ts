import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric of the platform, in one registry per platform instance (tests run several). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dh_process_' });
  const r = [registry];
  return {
    registry,
    brokerConnections: new Gauge({ name: 'dh_broker_connections', help: 'Devices connected now', registers: r }),
    brokerRejections: new Counter({
      name: 'dh_broker_rejections_total', help: 'Refused CONNECTs, publishes and subscribes by reason', labelNames: ['reason'], registers: r,
    }),
    brokerMessages: new Counter({ name: 'dh_broker_messages_total', help: 'PUBLISH packets from devices, by topic kind', labelNames: ['kind'], registers: r }),
    ingestMessages: new Counter({ name: 'dh_ingest_messages_total', help: 'Readings messages received', registers: r }),
    ingestRedeliveries: new Counter({ name: 'dh_ingest_redeliveries_total', help: 'QoS 1 redeliveries given their first receipt time', registers: r }),
    ingestAccepted: new Counter({ name: 'dh_ingest_readings_accepted_total', help: 'Readings accepted, by type', labelNames: ['type'], registers: r }),
    ingestRejected: new Counter({ name: 'dh_ingest_readings_rejected_total', help: 'Readings rejected, by error code', labelNames: ['reason'], registers: r }),
    outboxBacklog: new Gauge({ name: 'dh_ingest_outbox_backlog', help: 'Readings durable but not yet in InfluxDB', registers: r }),
    outboxHeld: new Gauge({ name: 'dh_ingest_outbox_readings', help: 'Readings on disk: not yet in InfluxDB or not yet durable for the alerts engine', registers: r }),
    writerLag: new Gauge({ name: 'dh_ingest_writer_lag_seconds', help: 'Age of the oldest reading not yet in InfluxDB', registers: r }),
    appendsWaited: new Counter({ name: 'dh_ingest_appends_waited_total', help: 'Messages whose PUBACK waited (up to 1 s) for the InfluxDB writer to catch up', registers: r }),
    influxWritten: new Counter({ name: 'dh_ingest_influx_points_written_total', help: 'Points InfluxDB acknowledged', registers: r }),
    influxFailures: new Counter({ name: 'dh_ingest_influx_write_failures_total', help: 'Failed InfluxDB write requests', registers: r }),
    influxRefused: new Counter({ name: 'dh_ingest_influx_points_refused_total', help: 'Points InfluxDB refused as invalid (400), dropped', registers: r }),
    alertChanges: new Counter({ name: 'dh_alerts_changes_total', help: 'Alert changes stored, by kind and action', labelNames: ['kind', 'action'], registers: r }),
    alertsOpen: new Gauge({ name: 'dh_alerts_unresolved', help: 'Alerts not yet resolved', registers: r }),
    alertScanSeconds: new Gauge({ name: 'dh_alerts_last_scan_seconds', help: 'Duration of the last deadline scan', registers: r }),
    consoleSockets: new Gauge({ name: 'dh_web_console_sockets', help: 'Console sockets connected', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
