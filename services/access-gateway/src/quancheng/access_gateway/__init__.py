"""Access gateway: the only public entry; tokens, access requests (调阅), proxying (B-9, C-5..9)."""
