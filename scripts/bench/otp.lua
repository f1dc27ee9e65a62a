-- wrk script of scripts/bench.sh: drives otpd's public API (or the bare endpoint, which takes
-- the same bodies) with token/generate, otp/generate or otp/validate requests, and appends
-- one JSON line per run to $BENCH_OUT.
--
-- Environment (set by scripts/bench.sh):
--   BENCH_KIND     token | generate | validate
--   BENCH_DATA     generate/validate: lines "TYPE VALUE SESSIONID [OTP]" (scripts/bench/prepare.py)
--   BENCH_THREADS  wrk's -t: thread t takes lines t+1, t+1+BENCH_THREADS, ... of BENCH_DATA
--   BENCH_WRK_CONNECTIONS  wrk's -c, which must equal -t (see Latency below)
--   BENCH_ONCE     1: use each line once; a thread whose lines are used up stops (validate
--                  against otpd: a code is accepted once). Otherwise the lines are cycled.
--   BENCH_TAG      a customer-number prefix for token/generate, distinct per run
--   BENCH_OUT      the results file (JSON lines)
--   BENCH_LABEL    JSON members describing the run, e.g. "target":"otpd","connections":32
--
-- Latency: wrk's own percentiles add "coordinated omission" corrections (for every slow
-- request, made-up samples at the request interval), which at one connection turn a single
-- stall into hundreds of slow samples. This script records what each request took instead:
-- bench.sh runs one wrk thread per connection, so a thread's request() and response()
-- alternate and the time between them is that request's latency (CLOCK_MONOTONIC). The
-- histogram goes into the results (microseconds: exact below 1 ms, 10 µs steps below 10 ms,
-- 100 µs above); wrk's corrected p50/p99/p99.9 are kept beside it.
--
-- With BENCH_ONCE a run may end before wrk's -d: the rate is then taken over the time the
-- threads really sent (first request to the last thread's stop).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local kind = os.getenv("BENCH_KIND") or "token"
local paths = {
  token = "/auth/v1/token/generate",
  generate = "/auth/v1/otp/generate",
  validate = "/auth/v1/otp/validate",
}
local path = paths[kind]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- Main state: the threads, for done().
local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

-- Thread state.
local rows = {}
local next_row = 1
local once = os.getenv("BENCH_ONCE") == "1"
local counter = 0
local tag = tonumber(os.getenv("BENCH_TAG") or "0") or 0

function init(args)
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local connections = tonumber(os.getenv("BENCH_WRK_CONNECTIONS") or nthreads)
  assert(connections == nthreads, "run one wrk thread per connection (-t = -c)")
  local data = os.getenv("BENCH_DATA")
  if kind ~= "token" then
    local f = assert(io.open(data, "r"), "cannot read " .. tostring(data))
    local i = 0
    for line in f:lines() do
      if i % nthreads == tid then
        local t, v, s, o = line:match("^(%S+) (%S+) (%S+) ?(%S*)$")
        if t then
          local body = '{"identifierType":"' .. t .. '","identifierValue":"' .. v ..
              '","brand":"DEMO","deviceId":"bench","sessionId":"' .. s .. '"'
          if kind == "validate" then
            body = body .. ',"otp":"' .. o .. '"'
          end
          rows[#rows + 1] = wrk.format(nil, path, nil, body .. "}")
        end
      end
      i = i + 1
    end
    f:close()
    assert(#rows > 0, "no requests for thread " .. tid .. " in " .. tostring(data))
  end
  t_first = nil
  t_stop = nil
end

hist = {} -- global: done() reads it with thread:get
local sent_at = nil

local function bucket(us)
  if us < 1000 then return us end
  if us < 10000 then return us - us % 10 end
  return us - us % 100
end

function response(status, headers, body)
  if sent_at then
    local b = bucket(math.floor((now() - sent_at) * 1e6 + 0.5))
    hist[b] = (hist[b] or 0) + 1
    sent_at = nil
  end
end

function request()
  local t = now()
  if t_first == nil then
    t_first = t
  end
  sent_at = t
  if kind == "token" then
    -- A different customer each request: +849 TTT HH NNNNNN (run tag, thread, counter).
    counter = counter + 1
    local value = string.format("+849%03d%02d%06d", tag % 1000, tid % 100, counter % 1000000)
    return wrk.format(nil, path, nil,
      '{"identifierType":"MOBILE","identifierValue":"' .. value ..
      '","brand":"DEMO","deviceId":"bench"}')
  end
  if next_row > #rows then
    if once then
      if t_stop == nil then
        t_stop = now()
        wrk.thread:stop()
      end
      -- Never answered: the thread's loop ends before the reply is read.
      return wrk.format("GET", "/health/live", nil, nil)
    end
    next_row = 1
  end
  local r = rows[next_row]
  next_row = next_row + 1
  return r
end

function done(summary, latency, requests)
  -- The time the threads sent: from the first request to wrk's end, or to the stop of the
  -- last thread when every thread ran out of lines.
  local first, last_stop, all_stopped = nil, nil, true
  for _, t in ipairs(threads) do
    local f, s = t:get("t_first"), t:get("t_stop")
    if f and (first == nil or f < first) then first = f end
    if s then
      if last_stop == nil or s > last_stop then last_stop = s end
    else
      all_stopped = false
    end
  end
  local seconds = summary.duration / 1e6
  if all_stopped and first and last_stop then
    seconds = last_stop - first
  end
  local e = summary.errors
  -- Every thread's histogram, merged.
  local merged, count = {}, 0
  for _, t in ipairs(threads) do
    for us, n in pairs(t:get("hist") or {}) do
      merged[us] = (merged[us] or 0) + n
      count = count + n
    end
  end
  local keys = {}
  for us in pairs(merged) do keys[#keys + 1] = us end
  table.sort(keys)
  local pairs_ = {}
  for _, us in ipairs(keys) do pairs_[#pairs_ + 1] = string.format("[%d,%d]", us, merged[us]) end
  local function pct(p) -- the p-th percentile of the merged histogram, in ms
    local rank, seen = math.max(1, math.ceil(p / 100 * count)), 0
    for _, us in ipairs(keys) do
      seen = seen + merged[us]
      if seen >= rank then return us / 1000 end
    end
    return 0 / 0
  end
  local line = string.format(
    '{%s,"requests":%d,"seconds":%.6f,"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"wrk_p50_us":%d,"wrk_p99_us":%d,"wrk_p999_us":%d,' ..
    '"hist_us":[%s]}\n',
    os.getenv("BENCH_LABEL") or '"label":"?"', summary.requests, seconds, e.status, e.connect,
    e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), table.concat(pairs_, ","))
  local out = os.getenv("BENCH_OUT")
  if out then
    local f = assert(io.open(out, "a"))
    f:write(line)
    f:close()
  end
  io.write(string.format(
    "  %.0f req/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (wrk's corrected p99 %.2f ms), " ..
    "non-2xx %d, socket errors %d\n",
    summary.requests / seconds, pct(50), pct(99), pct(99.9), latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
