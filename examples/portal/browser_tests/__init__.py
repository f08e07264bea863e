"""End-to-end tests of the reference portal in headless Chromium (Debian's, via Playwright)."""
