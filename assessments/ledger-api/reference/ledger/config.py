"""Settings from the environment: PORT, DATABASE_URL, JWT_SECRET."""

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    jwt_secret: str = ""
    port: int = 8080
    # One gunicorn worker runs this many threads; the pool leaves room for the
    # start-up thread and a health check.
    threads: int = 16

    @property
    def pool_size(self):
        return self.threads + 4

    @classmethod
    def from_env(cls, env=None):
        env = os.environ if env is None else env
        missing = [name for name in ("DATABASE_URL", "JWT_SECRET") if not env.get(name)]
        if missing:
            raise ConfigError("missing environment variable(s): " + ", ".join(missing))
        return cls(database_url=env["DATABASE_URL"], jwt_secret=env["JWT_SECRET"],
                   port=port_from_env(env), threads=int(env.get("THREADS", "16")))


def port_from_env(env=None):
    env = os.environ if env is None else env
    raw = env.get("PORT") or "8080"
    port = int(raw)
    if not 0 < port < 65536:
        raise ConfigError(f"PORT out of range: {raw}")
    return port
