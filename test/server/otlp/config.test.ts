import { expect, test } from "bun:test";
import { otlpConfig, resourceOf, tracesConfigured } from "../../../src/server/otlp/config.ts";

test.each([
  [{}, false],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, true],
  [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" }, true],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "  " }, false],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "TRUE" }, false],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }, false],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "otlp" }, true],
])("traces are configured by %j: %p", (env, configured) => {
  expect(tracesConfigured(env)).toBe(configured);
});

test.each([
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "http://c:4318/v1/traces", "http/protobuf"],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "https://c/otlp//" }, "https://c/otlp/v1/traces", "http/protobuf"],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t/x" }, "http://t/x", "http/protobuf"],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, "http://c/v1/traces", "http/json"],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" }, "http://c/v1/traces", "http/json"],
])("endpoint and protocol from %j", (env, url, protocol) => {
  expect(otlpConfig(env)).toMatchObject({ url, protocol, timeoutMs: 10_000 });
});

test("headers: percent-decoded, the traces list over the general one; timeout", () => {
  const config = otlpConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://c",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%3Db, x-team=dev",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=ops",
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "2500",
  });
  expect(config.headers).toEqual({ "api-key": "a=b", "x-team": "ops" });
  expect(config.timeoutMs).toBe(2_500);
});

test("resource: OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES' service.name over unitsync's", () => {
  const names = (env: Record<string, string>) => Object.fromEntries(resourceOf(env).map((a) => [a.key, a.value]));
  expect(names({})).toMatchObject({ "service.name": "unitsync", "service.version": expect.any(String), "process.pid": { int: process.pid } });
  expect(names({ OTEL_RESOURCE_ATTRIBUTES: "service.name=boot,k8s.pod.name=ws%201" })).toMatchObject({ "service.name": "boot", "k8s.pod.name": "ws 1" });
  expect(names({ OTEL_RESOURCE_ATTRIBUTES: "service.name=boot", OTEL_SERVICE_NAME: "workspace" })["service.name"]).toBe("workspace");
});
