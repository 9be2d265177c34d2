"""Device registry: sections, officers, recording devices, their lifecycle (A-2, A-6..A-8)."""
