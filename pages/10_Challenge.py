"""Challenge: students denoise a noisy image without its clean original; the lecturer's leaderboard scores them."""
import streamlit as st

from ui import challenge, classroom, page, state

page.setup("Challenge", icon=":material/emoji_events:")
st.title("Challenge")
st.caption("Denoise the image as well as you can, by eye alone: the clean image and the metrics are hidden until "
           "the lecturer shows the leaderboard.")
if classroom.lecturer():
    with st.expander("Open a challenge (lecturer)", icon=":material/add_circle:",
                     expanded=not classroom.joining(state.CHALLENGE_CODE)):
        challenge.challenge_form()
joined = classroom.join("challenge", state.CHALLENGE_CODE)
if joined is not None:
    if classroom.lecturer():
        classroom.show_code(joined)
    challenge.attempt(joined)
    if classroom.lecturer():
        st.divider()
        challenge.board(joined)
