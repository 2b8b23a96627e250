-- Spreads wrk's threads over API replicas: thread i connects to the port i mod n of WRK_PORTS (comma-separated, on
-- the URL's host), so one run, with one latency histogram, loads every replica evenly. Used by bench/load.ts.
local ports = {}
for port in string.gmatch(os.getenv("WRK_PORTS") or "", "%d+") do
  table.insert(ports, port)
end
assert(#ports > 0, "WRK_PORTS: expected comma-separated ports")
local started = 0
function setup(thread)
  thread.addr = wrk.lookup(wrk.host, ports[started % #ports + 1])[1]
  started = started + 1
end
