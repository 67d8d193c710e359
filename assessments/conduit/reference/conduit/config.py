"""Settings from the environment: PORT, DATABASE_URL, JWT_SECRET (nothing else is read)."""

import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    jwt_secret: str
    threads: int = 16

    @property
    def pool_size(self):
        # Every request thread gets a connection, plus room for start-up and a readiness probe.
        return self.threads + 4

    @classmethod
    def from_env(cls, env=None):
        env = os.environ if env is None else env
        missing = [name for name in ("DATABASE_URL", "JWT_SECRET") if not env.get(name)]
        if missing:
            raise ConfigError("missing environment variable(s): " + ", ".join(missing))
        return cls(database_url=env["DATABASE_URL"], jwt_secret=env["JWT_SECRET"],
                   threads=int(env.get("THREADS", "16")))
