"""Challenge: students denoise a noisy image without its clean original; the lecturer's leaderboard scores them."""
import streamlit as st

from ui import challenge, classroom, page, state

page.setup("Challenge", icon=":material/emoji_events:")
st.title("Challenge")
st.caption("Denoise the image as well as you can, by eye alone: the clean image and the metrics are hidden until "
           "the lecturer shows the leaderboard.")
classroom.round_page("challenge", state.CHALLENGE_CODE, "Open a challenge (lecturer)", challenge.challenge_form,
                     challenge.attempt, challenge.board)
