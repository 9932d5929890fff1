-- POST /enrolments: every request a new participant (distinct e-mail), offerings taken in turn from
-- a file of offering ids open for enrolment, so requests spread over many offerings' row locks.
-- Arguments: ids file, HR bearer token, a tag that makes this run's e-mail addresses unique.
local ids = {}
local counter = 0
local token, tag
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  token, tag = args[2], args[3]
end

function request()
  counter = counter + 1
  local offering = ids[(counter * 7919 + (tid or 1) * 104729) % #ids + 1]
  local body = string.format(
    '{"offering_id": %s, "participant": {"name": "Bench Deltager", "email": "p-%s-%d-%d@bench.example"}}',
    offering, tag, tid or 1, counter)
  return wrk.format("POST", "/enrolments",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
