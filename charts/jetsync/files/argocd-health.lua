-- Argo CD health check for every jetsync.dev kind (Stream, Consumer, KeyValue,
-- ObjectStore, NatsConnection), read from the conditions the controller writes.
local function health(status, message)
  return { status = status, message = message }
end
local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end
local function said(c)
  if c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  return c.reason
end
if obj.spec ~= nil and obj.spec.suspend == true then
  return health("Suspended", "spec.suspend is true: jetsync leaves this resource alone")
end
local generation = obj.metadata.generation
local observed = obj.status ~= nil and obj.status.observedGeneration or nil
if observed == nil or (generation ~= nil and observed < generation) then
  return health("Progressing", "Waiting for the jetsync controller to observe this generation")
end
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  return health("Degraded", said(stalled))
end
local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  return health("Progressing", said(reconciling))
end
local ready = condition("Ready")
if ready == nil or ready.status == "Unknown" then
  return health("Progressing", "Waiting for the Ready condition")
end
if ready.status == "True" then
  return health("Healthy", said(ready))
end
return health("Degraded", said(ready))
