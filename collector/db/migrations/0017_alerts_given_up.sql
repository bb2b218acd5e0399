-- Alerts the code before 0016 gave up on (5 failed attempts, a minute apart) stay given up: with
-- MAX_ATTEMPTS 30 they would be posted again, days or weeks late, on the first run after the
-- upgrade. The code since 0016 sets retry_at on every failed attempt, so a row tried and failed
-- without one was tried by the code before; its error says how many tries it really had.
UPDATE `alerts` SET `last_error` = coalesce(`last_error`, 'not delivered') || ' (given up after ' || `attempts` || ' attempts a minute apart, before retries were spaced out)', `attempts` = 30 WHERE `delivered_at` IS NULL AND `retry_at` IS NULL AND `attempts` >= 5;
