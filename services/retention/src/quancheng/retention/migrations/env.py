from quancheng.common.db.migrate import run_env

run_env()
