// Preloaded with `node -r ./port-hook.js`: the seed programs call `new Redis()` (localhost:6379) and must
// run unchanged, so the default port is redirected to the server under test (REDIS_PORT).
const Module = require("module");
const load = Module._load;
const Redis = load("ioredis", module, false);
class PortedRedis extends Redis {
  constructor(...args) {
    if (args.length === 0) super(Number(process.env.REDIS_PORT));
    else super(...args);
  }
}
Module._load = function (request, parent, isMain) {
  if (request === "ioredis") return PortedRedis;
  return load.apply(this, arguments);
};
