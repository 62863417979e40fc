-- The stretch of the window behind a peak score ("when"): set for models whose default scorer is
-- `peak` or `peak_no_decoder`, NULL for the other scorers and for scores stored before it existed.
ALTER TABLE scores
    ADD COLUMN peak_start timestamptz,
    ADD COLUMN peak_end   timestamptz,
    ADD CONSTRAINT scores_peak_span CHECK (
        (peak_start IS NULL) = (peak_end IS NULL) AND (peak_start IS NULL OR peak_start <= peak_end)
    );
