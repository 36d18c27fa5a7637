-- Shared by the scripts of bench/wrk: reads what `hulian bench --wrk-export DIR`
-- wrote, from the directory in the environment variable HULIAN_WRK_DIR.
local M = {}

local dir = os.getenv("HULIAN_WRK_DIR") or "."

-- parties: the participants' API keys, in parties.txt order (from 1).
function M.parties()
  local keys = {}
  for line in io.lines(dir .. "/parties.txt") do
    local id, key = line:match("^(%S+) (%S+)$")
    if key then keys[#keys + 1] = "Bearer " .. key end
  end
  assert(#keys >= 2, "parties.txt: want at least two participants")
  return keys
end

-- aliases: the aliases and, parallel, their owners' indexes (from 1).
function M.aliases()
  local values, owners = {}, {}
  for line in io.lines(dir .. "/aliases.txt") do
    local v, o = line:match("^(%S+) (%d+)$")
    if v then
      values[#values + 1] = v
      owners[#owners + 1] = tonumber(o) + 1
    end
  end
  assert(#values > 0, "aliases.txt: no aliases")
  return values, owners
end

-- Each wrk thread gets a number, so that transfer ids never collide.
local threads = 0
function M.setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

-- summary prints what wrk's own report leaves out: the answers that were
-- not 2xx or 3xx, so that a run that measured refusals is seen as one.
function M.done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("requests %d, non-2xx/3xx %d, socket errors %d; p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
    summary.requests, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end

return M
