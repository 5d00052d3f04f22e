-- wrk script for the authenticated-shaped route: POST ~200 bytes of JSON with a bearer token.
-- bench/foundation.py passes the body (bench/echo.py ECHO_BODY) in BENCH_ECHO_BODY.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_ECHO_BODY")
  or '{"room_id":"room_8f14e45fceea167a5a36dedd","client_message_id":"c2a7d4a0-5b1e-4c1b-9e0e-3f7a1b2c4d5e","text":"Benchmark message: the quick brown fox jumps over the lazy dog twice.","mentions":["user_17","user_42"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_BEARER") or "Bearer bench.dummy.token"
