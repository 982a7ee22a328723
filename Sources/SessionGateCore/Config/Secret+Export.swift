// `Secret` (and the store URLs' authority parser) live in SessionGateShared so that RedisWire,
// which does not depend on SessionGateCore, holds its password the same way. Re-exported so that
// every module that imports SessionGateCore sees `Secret` without a second import.
@_exported import SessionGateShared
